//! `netauth operator …` and `netauth subscriber …`: the network's data
//! from the command line, with the admin API's rules.

use super::args::{OperatorCommand, SubscriberCommand};
use super::{open, print_json};
use crate::infra::clock::system_now as now;
use anyhow::Context;

pub(super) async fn operator_command(cmd: OperatorCommand) -> anyhow::Result<()> {
    match cmd {
        OperatorCommand::Add { target, id, name, country, ranges } => {
            let (_, store, _) = open(&target, false).await?;
            let o = netauth_domain::subscriber::Operator { id, name, country, number_ranges: ranges };
            crate::admin::network::check_operator(&o).map_err(said)?;
            store.upsert_operator(&o).await?;
            print_json(&o)
        }
        OperatorCommand::List { target } => {
            let (_, store, _) = open(&target, false).await?;
            print_json(&store.list_operators().await?)
        }
    }
}

/// The admin API's refusal as the CLI says it: its message, word for word.
fn said(e: crate::errors::ApiReply) -> anyhow::Error {
    anyhow::anyhow!(e.0.message.to_string())
}

/// `IP` or `IP,FIRST-LAST`.
fn parse_address(s: &str) -> anyhow::Result<netauth_domain::subscriber::AddressAssignment> {
    let (ip, range) = s.split_once(',').unwrap_or((s, "0-65535"));
    let (a, b) =
        range.split_once('-').ok_or_else(|| anyhow::anyhow!("address `{s}`: ports are FIRST-LAST"))?;
    Ok(netauth_domain::subscriber::AddressAssignment {
        ip: ip.to_owned(),
        port_start: a.parse().with_context(|| format!("address `{s}`: bad port"))?,
        port_end: b.parse().with_context(|| format!("address `{s}`: bad port"))?,
    })
}

pub(super) async fn subscriber_command(cmd: SubscriberCommand) -> anyhow::Result<()> {
    use crate::admin::network::{SubscriberInput, build_subscriber};
    match cmd {
        SubscriberCommand::Add { target, phone_number, operator, addresses, sim_age_days, policy } => {
            let (_, store, _) = open(&target, false).await?;
            crate::admin::network::require_operator(store.as_ref(), &operator).await.map_err(said)?;
            let t = now();
            let input = SubscriberInput {
                sims: vec![netauth_domain::subscriber::SimRecord {
                    sim_id: format!("sim-{}", &phone_number.trim_start_matches('+')),
                    activated_at: t - sim_age_days * 86400,
                }],
                phone_number,
                operator_id: operator,
                status: Default::default(),
                addresses: addresses.iter().map(|a| parse_address(a)).collect::<anyhow::Result<_>>()?,
                handset_policy: Some(policy),
            };
            let s = build_subscriber(input, None, t).map_err(said)?;
            crate::admin::network::insert_subscriber(store.as_ref(), &s).await.map_err(said)?;
            print_json(&s)
        }
        SubscriberCommand::List { target } => {
            let (_, store, _) = open(&target, false).await?;
            let mut after: Option<String> = None;
            let mut all = Vec::new();
            loop {
                let page = store.list_subscribers(after.as_deref(), 1000).await?;
                let done = page.len() < 1000;
                after = page.last().map(|s| s.msisdn.clone());
                all.extend(page);
                if done {
                    break;
                }
            }
            print_json(&all)
        }
        SubscriberCommand::Show { target, phone_number } => {
            let (_, store, _) = open(&target, false).await?;
            print_json(&crate::camara::subscriber_in(store.as_ref(), &phone_number).await.map_err(said)?)
        }
        SubscriberCommand::Delete { target, phone_number } => {
            let (_, store, _) = open(&target, false).await?;
            let s = crate::camara::subscriber_in(store.as_ref(), &phone_number).await.map_err(said)?;
            store.delete_subscriber(&s.id).await?;
            println!("deleted {phone_number}");
            Ok(())
        }
    }
}
