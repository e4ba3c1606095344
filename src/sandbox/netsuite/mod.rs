//! NetSuite simulator (see issue "NetSuite client and simulator").
