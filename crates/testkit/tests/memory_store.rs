//! The in-memory store passes the same contract as the durable stores, so tests that use it
//! stand for them.

use powerpole_core::MemoryStore;
use powerpole_testkit::request_store_contract;

request_store_contract!(async { Some(MemoryStore::new()) });
