//! Attacks: output (tests are added with the fixes).
