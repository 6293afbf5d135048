//! Shell completions and man pages, generated from the clap definition so
//! that they cannot drift from the real flags (`kps generate-docs`).

use crate::cli::{Cli, ENVIRONMENT, EXIT_STATUS, FILES, GROUPS};
use clap::CommandFactory;
use roff::{Roff, bold, roman};
use std::path::{Path, PathBuf};

mod readme;

/// The command line with `kps --help` listing subcommands in groups. The
/// group text is built from each subcommand's own description, so it cannot
/// drift from the definition; a subcommand missing from GROUPS still shows.
pub fn grouped_command() -> clap::Command {
    let cmd = match help_asked() {
        true => with_readme_help(Cli::command()),
        false => Cli::command(),
    };
    let width = cmd
        .get_subcommands()
        .map(|s| s.get_name().len())
        .max()
        .unwrap_or(0);
    let line = |s: &clap::Command| {
        let about = s.get_about().map(|a| a.to_string()).unwrap_or_default();
        format!("  {:<width$}  {about}\n", s.get_name())
    };
    let mut text = String::new();
    let mut listed = Vec::new();
    for (title, names) in GROUPS {
        text.push_str(&format!("{title}:\n"));
        for name in *names {
            if let Some(sub) = cmd.find_subcommand(name) {
                text.push_str(&line(sub));
                listed.push(*name);
            }
        }
        text.push('\n');
    }
    let rest: Vec<&clap::Command> = cmd
        .get_subcommands()
        .filter(|s| documented(s) && !listed.contains(&s.get_name()))
        .collect();
    if !rest.is_empty() {
        text.push_str("Other:\n");
        for sub in rest {
            text.push_str(&line(sub));
        }
        text.push('\n');
    }
    let template = format!(
        "{{about-with-newline}}\n{{usage-heading}} {{usage}}\n\n{text}Options:\n{{options}}{{after-help}}"
    );
    cmd.help_template(template)
}

/// Does this run print long help (`--help`, `kps help CMD`)? Turning the
/// README's sections into help text took a millisecond and more of every
/// command's start (`kps list`: 1.8 ms before, 3.1 ms with it); only a run
/// that prints help pays for it.
fn help_asked() -> bool {
    std::env::args_os()
        .skip(1)
        .any(|a| a == "--help" || a == "help")
}

/// `kps CMD --help` (not `-h`) carries what the README says about CMD.
fn with_readme_help(mut cmd: clap::Command) -> clap::Command {
    let names: Vec<String> = cmd
        .get_subcommands()
        .filter(|s| documented(s))
        .map(|s| s.get_name().to_string())
        .collect();
    for name in names {
        if let Some(section) = readme::section(&name) {
            let text = readme::plain_text(section);
            cmd = cmd.mut_subcommand(name, |sub| sub.long_about(text));
        }
    }
    cmd
}

/// Every generated file: its path under the repository and its bytes.
pub fn render_all() -> std::io::Result<Vec<(PathBuf, Vec<u8>)>> {
    let mut files = Vec::new();
    // clap's own `help` subcommand has no page of its own.
    let mut cmd = with_readme_help(grouped_command()).disable_help_subcommand(true);
    cmd.build();
    for (file, script) in crate::complete::scripts()? {
        files.push((Path::new("completions").join(file), script));
    }
    man_pages(&cmd, "kps", &mut files)?;
    Ok(files)
}

fn man_pages(
    cmd: &clap::Command,
    name: &str,
    files: &mut Vec<(PathBuf, Vec<u8>)>,
) -> std::io::Result<()> {
    let page = cmd.clone().name(name.to_string());
    let man = clap_mangen::Man::new(page.clone());
    let mut buf = Vec::new();
    man.render_title(&mut buf)?;
    man.render_name_section(&mut buf)?;
    man.render_synopsis_section(&mut buf)?;
    // A top-level subcommand's description is its README section, with
    // the lists, tables and code blocks that --help flattens.
    let top_level = name == format!("kps-{}", cmd.get_name());
    match readme::section(cmd.get_name()).filter(|_| top_level) {
        Some(text) => {
            let mut roff = Roff::default();
            roff.control("SH", ["DESCRIPTION"]);
            if let Some(about) = page.get_about() {
                roff.text([roman(about.to_string())]);
            }
            readme::to_roff(text, &mut roff);
            roff.to_writer(&mut buf)?;
        }
        None => man.render_description_section(&mut buf)?,
    }
    if page.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut buf)?;
    }
    if page.get_subcommands().any(documented) {
        man.render_subcommands_section(&mut buf)?;
    }
    let mut roff = Roff::default();
    if let Some(examples) = examples(&page) {
        roff.control("SH", ["EXAMPLES"]);
        for line in examples {
            roff.control("TP", []).text([bold(line)]);
        }
    }
    if name == "kps" {
        section(&mut roff, "ENVIRONMENT", ENVIRONMENT);
        section(&mut roff, "FILES", FILES);
        section(&mut roff, "EXIT STATUS", EXIT_STATUS);
        roff.control("SH", ["SEE ALSO"]);
        let others: Vec<String> = page
            .get_subcommands()
            .filter(|s| documented(s))
            .map(|s| format!("kps-{}(1)", s.get_name()))
            .collect();
        roff.text([roman(others.join(", "))]);
    } else {
        roff.control("SH", ["EXIT STATUS"]);
        roff.text([roman("See kps(1).")]);
    }
    roff.to_writer(&mut buf)?;
    if page.get_version().is_some() {
        man.render_version_section(&mut buf)?;
    }
    files.push((Path::new("man").join(format!("{name}.1")), buf));
    for sub in page.get_subcommands().filter(|s| documented(s)) {
        man_pages(sub, &format!("{name}-{}", sub.get_name()), files)?;
    }
    Ok(())
}

/// Subcommands that get a page: not hidden, and not clap's `help`.
fn documented(cmd: &clap::Command) -> bool {
    !cmd.is_hide_set() && cmd.get_name() != "help"
}

/// The example command lines a command's --help ends with.
fn examples(cmd: &clap::Command) -> Option<Vec<String>> {
    let text = cmd.get_after_help()?.to_string();
    let (_, rest) = text.split_once("Examples:")?;
    Some(
        rest.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect(),
    )
}

fn section(roff: &mut Roff, title: &str, items: &[(&str, &str)]) {
    roff.control("SH", [title]);
    for (term, text) in items {
        roff.control("TP", [])
            .text([bold(*term)])
            .text([roman(*text)]);
    }
}

/// Write every file under `dir`.
pub fn write_all(dir: &Path) -> anyhow::Result<()> {
    for (path, bytes) in render_all()? {
        let target = dir.join(&path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&target, bytes)?;
    }
    Ok(())
}
