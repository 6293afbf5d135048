//! Progress on stderr for long work, only when stderr is a terminal and the
//! output is not JSON: a spinner with elapsed time (RSA generation) and a bar
//! for work over many keys (`import --from-dir`).

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub struct Spinner {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Spinner {
    pub fn start(message: String, json: bool) -> Spinner {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = (!json && std::io::stderr().is_terminal()).then(|| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let frames = ['|', '/', '-', '\\'];
                let start = Instant::now();
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let mut err = std::io::stderr().lock();
                    let _ = write!(
                        err,
                        "\r{} {message} {:.1}s",
                        frames[i % frames.len()],
                        start.elapsed().as_secs_f32()
                    );
                    let _ = err.flush();
                    drop(err);
                    i += 1;
                    std::thread::sleep(Duration::from_millis(100));
                }
                let _ = write!(std::io::stderr(), "\r\x1b[2K");
            })
        });
        Spinner { stop, thread }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// `[#####     ] 12/40 label`, redrawn in place; cleared when dropped.
pub struct Bar {
    enabled: bool,
    label: String,
}

impl Bar {
    pub fn new(label: &str, json: bool) -> Bar {
        Bar {
            enabled: !json && std::io::stderr().is_terminal(),
            label: label.to_string(),
        }
    }

    pub fn set(&self, done: usize, total: usize) {
        if !self.enabled || total == 0 {
            return;
        }
        const WIDTH: usize = 30;
        let filled = done * WIDTH / total;
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r[{}{}] {done}/{total} {}",
            "#".repeat(filled),
            " ".repeat(WIDTH - filled),
            self.label
        );
        let _ = err.flush();
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        if self.enabled {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
        }
    }
}
