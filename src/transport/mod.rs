//! ZeroMQ transport (client sessions and the notary endpoint).
