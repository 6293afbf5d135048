//! Attacks: files (tests are added with the fixes).
