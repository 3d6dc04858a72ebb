//! requests list|show|approve|deny, grants list|show|revoke: the person's
//! side of the device flow.

use custodian_core::clock::human_duration;
use custodian_core::sharing::grant::{Grant, GrantStatus};
use custodian_core::sharing::request::{AccessRequest, Approval, RequestStatus};
use custodian_core::sharing::scope::PodAccess;
use custodian_core::{Category, Store};

use super::{parse_path, Context};
use crate::cli::{ApproveArgs, GrantsCommand, RequestsCommand};
use crate::fail::{code, Fail};
use crate::output::{self, print};
use crate::when;

pub fn requests(ctx: &Context, cmd: RequestsCommand) -> Result<(), Fail> {
    match cmd {
        RequestsCommand::List { all, json } => {
            let vault = ctx.unlock()?;
            let list = vault.store().access_requests(all)?;
            if json {
                return output::print_json(&list);
            }
            print(&request_table(vault.store(), &list, all)?)
        }
        RequestsCommand::Show { id, json } => {
            let vault = ctx.unlock()?;
            let request = vault.store().access_request(&id)?;
            if json {
                return output::print_json(&request);
            }
            print(&describe_request(vault.store(), &request)?)
        }
        RequestsCommand::Approve(args) => approve(ctx, args),
        RequestsCommand::Deny { id } => {
            let vault = ctx.unlock()?;
            let denied = vault.store().deny_request(&id)?;
            let told = match vault.store().linked_company(&denied.client_id)? {
                Some(c) => format!("{} is told so by `custodian deliver`", c.domain),
                None => "It is told so on its next poll".into(),
            };
            print(&format!(
                "Denied {}'s request {}. {told}; nothing was shared.\n",
                denied.client_name, denied.id
            ))
        }
    }
}

fn approve(ctx: &Context, args: ApproveArgs) -> Result<(), Fail> {
    // Check what was typed before asking for the passphrase.
    let only = args
        .only
        .iter()
        .map(|p| parse_path(p))
        .collect::<Result<Vec<_>, _>>()?;
    let lifetime = args
        .expires
        .as_deref()
        .map(|e| when::duration_secs(e, "--expires"))
        .transpose()?;
    let sensitive = args
        .allow_sensitive
        .iter()
        .map(|c| c.parse::<Category>())
        .collect::<Result<Vec<_>, _>>()?;
    let vault = ctx.unlock()?;
    let store = vault.store();
    let grant = store.approve_request(
        &args.id,
        &Approval {
            only,
            lifetime,
            sensitive: sensitive.clone(),
        },
    )?;
    if args.json {
        return output::print_json(&grant);
    }
    let how = match store.linked_company(&grant.client_id)? {
        Some(c) => format!(
            "The grant and its data are delivered to {} by `custodian deliver`",
            c.domain
        ),
        None => "The company receives its token on its next poll".into(),
    };
    let mut text = format!(
        "Approved. {} may now {} until {} ({}).\nGrant {}. {how}; `custodian grants revoke {}` ends it at any time.\n",
        grant.client_name,
        describe_access(&grant.details),
        output::when(grant.expires_at),
        human_duration((grant.expires_at - grant.created_at).num_seconds()),
        grant.id,
        grant.id,
    );
    let request = grant
        .request_id
        .as_deref()
        .map(|id| store.access_request(id))
        .transpose()?;
    let withheld: Vec<Category> = request
        .map(|r| r.sensitive_asked)
        .unwrap_or_default()
        .into_iter()
        .filter(|c| !sensitive.contains(c))
        .collect();
    if !withheld.is_empty() {
        let names: Vec<&str> = withheld.iter().map(|c| c.name()).collect();
        text.push_str(&format!(
            "Not shared: {} data (sensitive; add --allow-sensitive {} to a future approval to share it).\n",
            names.join(", "),
            names[0]
        ));
    }
    print(&text)
}

pub fn grants(ctx: &Context, cmd: GrantsCommand) -> Result<(), Fail> {
    match cmd {
        GrantsCommand::List { active, json } => {
            let vault = ctx.unlock()?;
            // Expiry has no event of its own: its receipt is signed here.
            vault.store().record_expirations()?;
            let mut list = vault.store().grants()?;
            if active {
                list.retain(|g| g.status == GrantStatus::Active);
            }
            // Active first, then the history; newest first within each.
            list.sort_by_key(|g| {
                (
                    g.status != GrantStatus::Active,
                    std::cmp::Reverse(g.created_at),
                )
            });
            if json {
                return output::print_json(&list);
            }
            print(&grant_table(vault.store(), &list)?)
        }
        GrantsCommand::Show { id, json } => {
            let vault = ctx.unlock()?;
            let grant = vault.store().grant(&id)?;
            if json {
                return output::print_json(&grant);
            }
            print(&describe_grant(&grant))
        }
        GrantsCommand::Revoke { id, client } => {
            let vault = ctx.unlock()?;
            let store = vault.store();
            match (id, client) {
                (Some(id), _) => {
                    let before = store.grant(&id)?;
                    let grant = store.revoke_grant(&id)?;
                    let note = match before.status {
                        GrantStatus::Active => {
                            "Its token stops working on the company's very next request."
                        }
                        GrantStatus::Revoked => "It was already revoked.",
                        GrantStatus::Expired => {
                            "It had already expired; it is now marked revoked too."
                        }
                        GrantStatus::Damaged => {
                            "Its record is damaged, so it allowed nothing; it is now marked revoked."
                        }
                    };
                    let told = match store.linked_company(&grant.client_id)? {
                        Some(c) => format!(" {} is told so by `custodian deliver`.", c.domain),
                        None => String::new(),
                    };
                    print(&format!(
                        "Revoked grant {} ({}). {note}{told}\n",
                        grant.id, grant.client_name
                    ))
                }
                (None, Some(client)) => {
                    let c = store.resolve_client(&client)?;
                    let n = store.revoke_client(&c.id)?;
                    print(&format!(
                        "Cut off {} ({}): {n} active grant{} revoked. Its tokens stop working on its very next request.\n",
                        c.name,
                        c.id,
                        if n == 1 { "" } else { "s" }
                    ))
                }
                (None, None) => Err(Fail::new(code::USAGE, "give a grant id or --client")),
            }
        }
    }
}

/// `read /contact/, /profile/card; append /purchases/`.
fn describe_access(details: &[PodAccess]) -> String {
    details
        .iter()
        .map(|d| {
            let actions: Vec<&str> = d.actions.iter().map(|a| a.name()).collect();
            let paths: Vec<&str> = d.paths.iter().map(|p| p.as_str()).collect();
            format!("{} {}", actions.join("+"), paths.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The company as the person sees it: `Shop (verified: shop.test)` for a
/// company that connected by a link, its given name alone otherwise.
fn company_label(store: &Store, client_id: &str, name: &str) -> Result<String, Fail> {
    Ok(match store.linked_company(client_id)? {
        Some(c) => format!("{name} (verified: {})", c.domain),
        None => name.to_string(),
    })
}

fn request_table(store: &Store, list: &[AccessRequest], all: bool) -> Result<String, Fail> {
    if list.is_empty() {
        return Ok(if all {
            "No company has asked for access yet.\n".into()
        } else {
            "No requests are waiting for an answer.\n".into()
        });
    }
    let mut rows = vec![vec![
        "CODE".into(),
        "COMPANY".into(),
        "WANTS".into(),
        "FOR".into(),
        "STATUS".into(),
        "ID".into(),
    ]];
    for r in list {
        rows.push(vec![
            r.user_code.clone(),
            company_label(store, &r.client_id, &r.client_name)?,
            describe_access(&r.details),
            human_duration(r.grant_lifetime),
            r.status.name().into(),
            r.id.clone(),
        ]);
    }
    let mut text = output::table(&rows);
    if list.iter().any(|r| r.status == RequestStatus::Pending) {
        text.push_str("\n`custodian requests show CODE` shows the purpose; then `approve CODE` or `deny CODE`.\n");
    }
    Ok(text)
}

pub(super) fn describe_request(store: &Store, r: &AccessRequest) -> Result<String, Fail> {
    let client = store.client(&r.client_id)?;
    let company = store.linked_company(&r.client_id)?;
    let shown = match &company {
        Some(c) if client.id.starts_with("http://") => format!(
            "{} (verified: {}, but over plain http: UNSAFE, allowed by the developer switch)",
            client.name, c.domain
        ),
        Some(c) => format!(
            "{} (verified: {}: it served its keys and this signed request there over https)",
            client.name, c.domain
        ),
        None => format!(
            "{} (unverified: this is the name it gave){}",
            client.name,
            client
                .uri
                .as_deref()
                .map(|u| format!(", {u}"))
                .unwrap_or_default()
        ),
    };
    let mut rows = vec![
        vec!["Request:".into(), format!("{} ({})", r.id, r.status.name())],
        vec!["User code:".into(), r.user_code.clone()],
        vec!["Company:".into(), shown],
    ];
    if let Some(c) = &company {
        if let Some(uri) = &c.client_uri {
            rows.push(vec!["Website:".into(), uri.clone()]);
        }
        if let Some(uri) = &c.policy_uri {
            rows.push(vec!["Privacy policy:".into(), uri.clone()]);
        }
        rows.push(vec!["Delivered to:".into(), c.delivery_uri.clone()]);
    }
    if !client.contacts.is_empty() {
        rows.push(vec!["Contact:".into(), client.contacts.join(", ")]);
    }
    rows.push(vec!["Client id:".into(), client.id.clone()]);
    rows.push(vec!["Asked:".into(), output::when(r.created_at)]);
    rows.push(vec![
        "For how long:".into(),
        human_duration(r.grant_lifetime),
    ]);
    for (i, d) in r.details.iter().enumerate() {
        let label = if i == 0 { "Wants:" } else { "" };
        rows.push(vec![label.into(), describe_detail(d)]);
        rows.push(vec!["".into(), format!("  why: {}", d.purpose)]);
    }
    if !r.sensitive_asked.is_empty() {
        let names: Vec<&str> = r.sensitive_asked.iter().map(|c| c.name()).collect();
        rows.push(vec![
            "Sensitive:".into(),
            format!(
                "{} (shared only if you add --allow-sensitive {} when approving)",
                names.join(", "),
                names[0]
            ),
        ]);
    }
    match r.status {
        RequestStatus::Pending => rows.push(vec![
            "Answer by:".into(),
            format!(
                "{} (after that it expires unanswered)",
                output::when(r.expires_at)
            ),
        ]),
        _ => {
            if let Some(at) = r.decided_at {
                rows.push(vec!["Answered:".into(), output::when(at)]);
            }
            if let Some(g) = &r.grant_id {
                rows.push(vec!["Grant:".into(), g.clone()]);
            }
        }
    }
    let mut text = output::table(&rows);
    if r.status == RequestStatus::Pending {
        text.push_str(&format!(
            "\nApprove as asked:   custodian requests approve {code}\n\
             Approve narrower:   custodian requests approve {code} --only PATH --expires 1d\n\
             Deny:               custodian requests deny {code}\n",
            code = r.user_code
        ));
    }
    Ok(text)
}

fn describe_detail(d: &PodAccess) -> String {
    let mut s = describe_access(std::slice::from_ref(d));
    if !d.datatypes.is_empty() {
        let kinds: Vec<&str> = d.datatypes.iter().map(|c| c.name()).collect();
        s.push_str(&format!(" (only {} data)", kinds.join(", ")));
    }
    if !d.sensitive.is_empty() {
        let kinds: Vec<&str> = d.sensitive.iter().map(|c| c.name()).collect();
        s.push_str(&format!(", including sensitive {} data", kinds.join(", ")));
    }
    s
}

fn grant_table(store: &Store, list: &[Grant]) -> Result<String, Fail> {
    if list.is_empty() {
        return Ok("No grants: no company has access to anything.\n".into());
    }
    let mut rows = vec![vec![
        "ID".into(),
        "COMPANY".into(),
        "ACCESS".into(),
        "STATUS".into(),
        "UNTIL".into(),
    ]];
    for g in list {
        let until = match g.status {
            GrantStatus::Revoked => g.revoked_at.unwrap_or(g.expires_at),
            _ => g.expires_at,
        };
        let (access, until) = match &g.damage {
            Some(why) => (format!("(damaged record: {why})"), "-".to_string()),
            None => (describe_access(&g.details), output::when(until)),
        };
        rows.push(vec![
            g.id.clone(),
            company_label(store, &g.client_id, &g.client_name)?,
            access,
            g.status.name().into(),
            until,
        ]);
    }
    Ok(output::table(&rows))
}

fn describe_grant(g: &Grant) -> String {
    let mut rows = vec![
        vec!["Grant:".into(), format!("{} ({})", g.id, g.status.name())],
        vec![
            "Company:".into(),
            format!("{} ({})", g.client_name, g.client_id),
        ],
        vec!["Granted:".into(), output::when(g.created_at)],
        vec![
            if g.status == GrantStatus::Active {
                "Expires:"
            } else {
                "Expiry was:"
            }
            .into(),
            output::when(g.expires_at),
        ],
    ];
    if let Some(at) = g.revoked_at {
        rows.push(vec!["Revoked:".into(), output::when(at)]);
    }
    if let Some(r) = &g.request_id {
        rows.push(vec!["Request:".into(), r.clone()]);
    }
    for (i, d) in g.details.iter().enumerate() {
        let label = if i == 0 { "Access:" } else { "" };
        rows.push(vec![label.into(), describe_detail(d)]);
        rows.push(vec!["".into(), format!("  why: {}", d.purpose)]);
    }
    output::table(&rows)
}
