pub mod authorized_keys;
