//! ION simulator (see issue "ION client and simulator").
