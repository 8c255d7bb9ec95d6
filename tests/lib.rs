//! Cross-crate end-to-end tests of powerpole. The tests live beside this file, one binary each;
//! they run against the real servers `scripts/test.sh` starts.
