//! Attacks: identity (tests are added with the fixes).
