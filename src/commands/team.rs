//! `kps team ...`: set a team store up, add and remove members, list them,
//! read the audit log. The trust and the re-sealing are in the library
//! (src/store/team.rs, src/team/); this file asks and prints.

use super::Context;
use crate::cli::TeamCommand;
use crate::output;
use kps::store::{Store, TeamLog, invitation, parse_invitation};
use kps::team::{Change, Member, MembershipPin, Role};
use kps::text::escape;
use serde_json::json;

pub fn run(ctx: &Context, command: TeamCommand) -> anyhow::Result<()> {
    match command {
        TeamCommand::Init { name } => init(ctx, &name),
        TeamCommand::Join { name, invitation } => join(ctx, &name, invitation.as_deref()),
        TeamCommand::Invite { line, admin } => invite(ctx, &line, admin),
        TeamCommand::Remove { name } => remove(ctx, &name),
        TeamCommand::Members => members(ctx),
        TeamCommand::Log { keypair } => log(ctx, keypair.as_deref()),
    }
}

/// A line given as an argument, or `-`: one line from standard input.
fn line_arg(value: &str) -> anyhow::Result<String> {
    if value != "-" {
        return Ok(value.to_string());
    }
    // A member line or invitation is well under 1 KiB; what is longer is
    // cut, and then refused as the line it is not.
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(std::io::stdin().lock(), 4096),
        &mut bytes,
    )?;
    Ok(String::from_utf8(bytes)
        .map_err(|_| kps::Error::invalid("standard input is not UTF-8 text"))?)
}

fn my_store(ctx: &Context) -> anyhow::Result<Store> {
    let store = ctx.open_store()?;
    if !store.is_team()? {
        return Err(kps::Error::NotATeamStore {
            store: ctx.store_display(),
        }
        .into());
    }
    Ok(store)
}

fn member_json(m: &Member, role: Role) -> serde_json::Value {
    json!({
        "name": m.name,
        "role": role.as_str(),
        "fingerprint": m.fingerprint(),
    })
}

fn init(ctx: &Context, name: &str) -> anyhow::Result<()> {
    let identity_dir = ctx.identity_dir()?;
    let (mut store, made) = Store::open_or_create_at(&ctx.store_dir, ctx.store_target.as_ref())?;
    let result = store.team_init(&identity_dir, name, |s| ctx.unlock(s));
    let genesis = match result {
        Ok(g) => g,
        Err(e) => {
            if let Some(made) = made {
                let _ = store.discard_new(made);
            }
            return Err(e);
        }
    };
    let me = &genesis.members[0];
    if ctx.json {
        output::print_json(&json!({
            "team_id": genesis.team_id.to_string(),
            "epoch": genesis.epoch,
            "member": member_json(&me.member, me.role),
        }))?;
    } else {
        ctx.status(&format!(
            "Team {} set up in {}: you are its first admin, '{}' ({}).\n\
             Members join with 'kps team join NAME' (send you the line it prints) and 'kps team invite LINE'.",
            genesis.team_id,
            escape(&ctx.store_display()),
            me.member.name,
            me.member.fingerprint()
        ))?;
    }
    Ok(())
}

fn join(ctx: &Context, name: &str, invitation: Option<&str>) -> anyhow::Result<()> {
    let identity_dir = ctx.identity_dir()?;
    let Some(invitation) = invitation else {
        // Only this member's own store is needed: the line is public.
        let identity = Store::open_required(&identity_dir)?;
        let member = identity.member_as(name, |s| ctx.unlock(s))?;
        if ctx.json {
            output::print_json(&json!({
                "member_line": member.line(),
                "fingerprint": member.fingerprint(),
            }))?;
        } else {
            output::print_text(&member.line())?;
            if !ctx.quiet {
                eprintln!(
                    "Send this line to an admin of the team ('kps team invite LINE'); read them the fingerprint {} to check it arrived unchanged.",
                    member.fingerprint()
                );
            }
        }
        return Ok(());
    };
    let pin: MembershipPin = parse_invitation(&line_arg(invitation)?)?;
    let mut store = Store::open_required_at(&ctx.store_dir, ctx.store_target.as_ref())?;
    if !store.is_team()? {
        return Err(kps::Error::TeamNotSetUp {
            store: ctx.store_display(),
        }
        .into());
    }
    store.team_join(&identity_dir, &pin)?;
    let (team, epoch, members) = store.team_members()?;
    let me = members.iter().find(|m| m.is_you);
    if ctx.json {
        output::print_json(&json!({
            "team_id": team.to_string(),
            "epoch": epoch,
            "member": me.map(|m| json!({"name": m.name, "role": m.role.as_str(), "fingerprint": m.fingerprint})),
            "members": members.len(),
        }))?;
    } else {
        ctx.status(&format!(
            "Joined team {team} as '{}' (member list epoch {epoch}, {} members); this machine now trusts its admins' signatures.",
            me.map(|m| m.name.as_str()).unwrap_or(name),
            members.len()
        ))?;
    }
    Ok(())
}

fn invite(ctx: &Context, line: &str, admin: bool) -> anyhow::Result<()> {
    let member = Member::parse_line(&line_arg(line)?)?;
    let store = my_store(ctx)?;
    // Sealing every data key to the new member opens each one: the
    // admin's identity store is unlocked.
    let identity = ctx.unlock(&store)?;
    let role = if admin { Role::Admin } else { Role::Member };
    let next = store.team_change(Change::Add(member.clone(), role), &identity)?;
    let (team, _, members) = store.team_members()?;
    let me = members.iter().find(|m| m.is_you).map(|m| m.name.clone());
    let admin_key = me
        .and_then(|n| next.get(&n).map(|m| m.member.ed25519))
        .unwrap_or_default();
    let line = invitation(&MembershipPin::of(&next), &admin_key);
    if ctx.json {
        output::print_json(&json!({
            "team_id": team.to_string(),
            "epoch": next.epoch,
            "member": member_json(&member, role),
            "invitation": line,
        }))?;
    } else {
        output::print_text(&line)?;
        if !ctx.quiet {
            eprintln!(
                "Added '{}' ({}) as {}; every key is sealed to them. Send them the line above for 'kps team join {} --invitation LINE'.",
                member.name,
                member.fingerprint(),
                role.as_str(),
                member.name
            );
        }
    }
    Ok(())
}

fn remove(ctx: &Context, name: &str) -> anyhow::Result<()> {
    let store = my_store(ctx)?;
    let identity = ctx.unlock(&store)?;
    let next = store.team_change(Change::Remove(name.to_string()), &identity)?;
    if ctx.json {
        output::print_json(&json!({
            "removed": name,
            "epoch": next.epoch,
            "members": next.members.len(),
        }))?;
    } else {
        ctx.status(&format!(
            "Removed '{}': every key has a new data key sealed only to the {} remaining members. \
             They may have kept keys they opened before: replace those keypairs and delete the old ones.",
            escape(name),
            next.members.len()
        ))?;
    }
    Ok(())
}

fn members(ctx: &Context) -> anyhow::Result<()> {
    let store = my_store(ctx)?;
    let (team, epoch, members) = store.team_members()?;
    if ctx.json {
        let list: Vec<_> = members
            .iter()
            .map(|m| {
                json!({
                    "name": m.name,
                    "role": m.role.as_str(),
                    "fingerprint": m.fingerprint,
                    "member_line": m.line,
                    "you": m.is_you,
                })
            })
            .collect();
        output::print_json(&json!({
            "team_id": team.to_string(),
            "epoch": epoch,
            "members": list,
        }))?;
    } else {
        let width = members
            .iter()
            .map(|m| m.name.len())
            .max()
            .unwrap_or(4)
            .max(4);
        let mut text = format!("Team {team}, member list epoch {epoch}\n");
        text.push_str(&format!("{:<width$}  {:<6}  FINGERPRINT", "NAME", "ROLE"));
        for m in &members {
            text.push_str(&format!(
                "\n{:<width$}  {:<6}  {}{}",
                m.name,
                m.role.as_str(),
                m.fingerprint,
                if m.is_you { "  (you)" } else { "" }
            ));
        }
        output::print_text(&text)?;
    }
    Ok(())
}

fn time_of(micros: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("@{micros}us"))
}

fn log(ctx: &Context, keypair: Option<&str>) -> anyhow::Result<()> {
    let store = my_store(ctx)?;
    let TeamLog {
        entries,
        missing_head,
    } = store.team_log(keypair)?;
    let bad = entries.iter().filter(|e| !e.problems.is_empty()).count();
    if ctx.json {
        let list: Vec<_> = entries
            .iter()
            .map(|e| {
                json!({
                    "id": e.id,
                    "time": time_of(e.at_micros),
                    "epoch": e.epoch,
                    "member": e.member,
                    "action": e.action,
                    "target": e.target,
                    "verified": e.problems.is_empty(),
                    "problems": e.problems,
                })
            })
            .collect();
        output::print_json(&json!({
            "entries": list,
            "unverified": bad,
            "missing_head": missing_head,
        }))?;
    } else {
        let mut text = String::new();
        for e in &entries {
            if !text.is_empty() {
                text.push('\n');
            }
            // What the database holds is printed escaped: a member or
            // keypair name planted there may hold anything.
            text.push_str(&format!(
                "{}  {}  {}  {}",
                time_of(e.at_micros),
                escape(&e.member),
                escape(&e.action),
                escape(&e.target)
            ));
            if !e.problems.is_empty() {
                text.push_str(&format!("  UNVERIFIED: {}", e.problems.join("; ")));
            }
        }
        if !text.is_empty() {
            output::print_text(&text)?;
        }
        if let Some(id) = missing_head {
            output::warn(&format!(
                "the log no longer holds entry {id}, the newest this machine saw in it before: entries were removed from its end (or the log replaced)"
            ));
        }
        if bad > 0 {
            output::warn(&format!(
                "{bad} audit entr{} did not verify: someone with access to the database changed the log",
                if bad == 1 { "y" } else { "ies" }
            ));
        }
    }
    Ok(())
}
