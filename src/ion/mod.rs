//! ION GraphQL client.
