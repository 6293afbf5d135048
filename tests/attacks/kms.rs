//! Attacks: kms (tests are added with the fixes).
