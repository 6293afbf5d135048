//! Ctrl-C (or a hangup) at a prompt: dialoguer turns echo off and may hide
//! the cursor, and restores neither when the process is interrupted, which
//! leaves the operator's terminal broken. So before each prompt the terminal
//! settings are saved, and the first time a handler is installed that puts
//! them back, shows the cursor, says so, and exits with status 130.
//!
//! A command that runs until stopped (`kps agent`) registers what must be
//! undone instead ([`on_stop`]): the same handler then runs it and exits 0,
//! quietly, since being stopped is how such a command ends.

use std::io::Write;
use std::sync::{Mutex, Once};

static SAVED: Mutex<Option<rustix::termios::Termios>> = Mutex::new(None);
static INSTALL: Once = Once::new();
type Cleanup = Box<dyn FnOnce() + Send>;
static ON_STOP: Mutex<Option<Cleanup>> = Mutex::new(None);

/// Call before any interactive prompt.
pub fn guard_terminal() {
    if let Ok(settings) = rustix::termios::tcgetattr(std::io::stdin())
        && let Ok(mut saved) = SAVED.lock()
    {
        *saved = Some(settings);
    }
    install();
}

/// On SIGINT, SIGTERM or SIGHUP from now on: run `cleanup`, then exit 0.
pub fn on_stop(cleanup: impl FnOnce() + Send + 'static) {
    if let Ok(mut slot) = ON_STOP.lock() {
        *slot = Some(Box::new(cleanup));
    }
    install();
}

fn install() {
    INSTALL.call_once(|| {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
            return;
        };
        std::thread::spawn(move || {
            if signals.forever().next().is_some() {
                restore();
                let cleanup = ON_STOP.lock().ok().and_then(|mut slot| slot.take());
                if let Some(cleanup) = cleanup {
                    cleanup();
                    std::process::exit(0);
                }
                let _ = write!(std::io::stderr(), "\x1b[?25h\nerror: cancelled\n");
                std::process::exit(130);
            }
        });
    });
}

fn restore() {
    if let Ok(saved) = SAVED.lock()
        && let Some(settings) = saved.as_ref()
    {
        let _ = rustix::termios::tcsetattr(
            std::io::stdin(),
            rustix::termios::OptionalActions::Now,
            settings,
        );
    }
}
