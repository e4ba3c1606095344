//! NetSuite client.
