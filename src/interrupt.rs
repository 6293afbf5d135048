//! Ctrl-C (or a hangup) at a prompt: dialoguer turns echo off and may hide
//! the cursor, and restores neither when the process is interrupted, which
//! leaves the operator's terminal broken. So before each prompt the terminal
//! settings are saved, and the first time a handler is installed that puts
//! them back, shows the cursor, says so, and exits with status 130.
//!
//! A command that runs until stopped (`kps agent`) registers what must be
//! undone instead ([`on_stop`]): the same handler then runs it and exits 0,
//! quietly, since being stopped is how such a command ends. A command that
//! runs a child in the foreground (`kps ssh`) passes the signals on to it
//! instead ([`forward_to`]) and ends when the child does.

use std::io::Write;
use std::sync::{Mutex, Once};

static SAVED: Mutex<Option<rustix::termios::Termios>> = Mutex::new(None);
static INSTALL: Once = Once::new();
type Cleanup = Box<dyn FnOnce() + Send>;
static ON_STOP: Mutex<Option<(Cleanup, i32)>> = Mutex::new(None);
static FORWARD: Mutex<Option<u32>> = Mutex::new(None);
static DIVERT: Mutex<Option<fn()>> = Mutex::new(None);

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
    on_stop_exiting(cleanup, 0);
}

/// As [`on_stop`], exiting with `status` (`kps ssh` stopped before its ssh
/// started: 130, as a prompt cancelled).
pub fn on_stop_exiting(cleanup: impl FnOnce() + Send + 'static, status: i32) {
    if let Ok(mut slot) = ON_STOP.lock() {
        *slot = Some((Box::new(cleanup), status));
    }
    install();
}

/// While `pid` runs in the foreground (`kps ssh`'s ssh): SIGINT, SIGTERM
/// and SIGHUP are passed on to it, and this process goes on waiting for it
/// (and cleans up after it) instead of exiting. `None` once it has ended.
pub fn forward_to(pid: Option<u32>) {
    if let Ok(mut slot) = FORWARD.lock() {
        *slot = pid;
    }
    install();
}

/// While work that must not be cut short runs (`kps bind` changing
/// servers): SIGINT, SIGTERM and SIGHUP call `cancel` instead, which asks
/// the work to stop at its next step and undo what it did; `None` after.
pub fn divert_to(cancel: Option<fn()>) {
    if let Ok(mut slot) = DIVERT.lock() {
        *slot = cancel;
    }
    install();
}

fn diverted() -> bool {
    match DIVERT.lock().ok().and_then(|slot| *slot) {
        Some(cancel) => {
            cancel();
            true
        }
        None => false,
    }
}

fn pass_on(signal: i32) -> bool {
    let Some(pid) = FORWARD.lock().ok().and_then(|slot| *slot) else {
        return false;
    };
    let target = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw);
    if let (Some(target), Some(signal)) = (target, rustix::process::Signal::from_named_raw(signal))
    {
        let _ = rustix::process::kill_process(target, signal);
    }
    true
}

fn install() {
    INSTALL.call_once(|| {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
            return;
        };
        std::thread::spawn(move || {
            for signal in signals.forever() {
                if pass_on(signal) || diverted() {
                    continue;
                }
                restore();
                let cleanup = ON_STOP.lock().ok().and_then(|mut slot| slot.take());
                if let Some((cleanup, status)) = cleanup {
                    cleanup();
                    std::process::exit(status);
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
