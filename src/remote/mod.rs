pub mod authorized_keys;
pub mod sshd_config;
