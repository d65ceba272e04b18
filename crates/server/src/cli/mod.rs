//! The `netauth` command line: `args` (the grammar), `network` (operator
//! and subscriber commands), and here the commands that run or manage a
//! server.

mod args;
mod network;

pub use args::*;
use network::{operator_command, subscriber_command};

use crate::admin::manage::{self, NewClient};
use crate::infra::clock::system_now as now;
use crate::infra::config::{Config, LogFormat};
use anyhow::{Context, bail};
use netauth_domain::client::ClientStatus;
use netauth_domain::keys::MasterKey;
use netauth_store::Store;
use std::path::Path;
use std::sync::Arc;

fn env_vars() -> impl Iterator<Item = (String, String)> {
    std::env::vars()
}

pub fn init_logging(format: LogFormat, level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    use std::io::IsTerminal;
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let _ = match format {
        LogFormat::Json => b.json().try_init(),
        LogFormat::Text => b.try_init(),
    };
}

/// Reads the master key from configuration: inline, or from a file.
pub fn master_key_from_config(c: &Config) -> anyhow::Result<MasterKey> {
    let text = if !c.keys.master_key.is_empty() {
        c.keys.master_key.expose().to_owned()
    } else if !c.keys.master_key_file.is_empty() {
        std::fs::read_to_string(&c.keys.master_key_file)
            .with_context(|| format!("keys.master_key_file: reading {}", c.keys.master_key_file))?
    } else {
        bail!(
            "configuration key `keys.master_key` (or keys.master_key_file) is required; generate one with `openssl rand -base64 32`"
        );
    };
    MasterKey::from_base64(&text).map_err(|e| anyhow::anyhow!("configuration key `keys.master_key`: {e}"))
}

/// The sandbox's configuration for a data directory.
pub fn sandbox_config(data_dir: &Path, database_url: Option<String>) -> anyhow::Result<Config> {
    let mut c = Config::load(None, env_vars())?;
    c.sandbox.enabled = true;
    c.database.url =
        database_url.unwrap_or_else(|| format!("sqlite:{}", data_dir.join("netauth.db").display()));
    Ok(c)
}

/// Resolves a management command's installation: its configuration, its
/// store, and its master key (only `keys` commands need that one, so a
/// missing key is an error only for them). Only `migrate` may create a
/// sandbox registry where there is none: anything else run in the wrong
/// directory says so instead of starting an empty installation.
pub(super) async fn open(
    target: &Target,
    create: bool,
) -> anyhow::Result<(Config, Arc<dyn Store>, anyhow::Result<MasterKey>)> {
    let (mut config, master) = match &target.config {
        Some(p) => {
            let c = Config::load(Some(p), env_vars())?;
            let m = master_key_from_config(&c);
            (c, m)
        }
        None => {
            let db = target.data_dir.join("netauth.db");
            if !create && target.database_url.is_none() && !db.exists() {
                bail!(
                    "no sandbox registry at {} (start `netauth sandbox` or run `netauth migrate` there first, or pass --data-dir or --config)",
                    db.display()
                );
            }
            crate::sandbox::create_private_dir(&target.data_dir)?;
            let c = sandbox_config(&target.data_dir, None)?;
            let m = crate::sandbox::load_or_create_master_key(&target.data_dir)
                .and_then(|k| MasterKey::from_base64(&k).map_err(Into::into));
            (c, m)
        }
    };
    if let Some(u) = &target.database_url {
        config.database.url = u.clone();
    }
    let store = netauth_store::connect(&config.database.url, 2).await.context("opening the database")?;
    Ok((config, store, master))
}

pub(super) fn print_json<T: serde::Serialize>(v: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let log_format = cli.log_format;
    match cli.command {
        Command::Sandbox(args) => run_sandbox(args, log_format).await,
        Command::Serve { config } => {
            let c = Config::load(Some(&config), env_vars())?;
            init_logging(log_format.unwrap_or(c.log.format), &c.log.level);
            let master = master_key_from_config(&c)?;
            // Before the database: a certificate problem is named at once.
            let tls = crate::app::load_tls(&c)?;
            let store = netauth_store::connect(&c.database.url, c.database.max_connections)
                .await
                .context("opening the database")?;
            let listener = tokio::net::TcpListener::bind(c.server.listen)
                .await
                .with_context(|| format!("listening on {}", c.server.listen))?;
            let app = crate::app::build_state(c, store, master).await?;
            tracing::info!(issuer = %app.issuer, listen = %app.config.server.listen, backend = app.store.backend(), tls = tls.is_some(), "netauth serving");
            crate::app::serve_on(app, vec![(listener, tls)]).await
        }
        Command::Migrate(target) => {
            let (c, store, _) = open(&target, true).await?;
            println!("migrations applied to {} ({})", redact(&c.database.url), store.backend());
            Ok(())
        }
        Command::Keys { command } => match command {
            KeysCommand::Rotate { target, delay } => {
                let (c, store, master) = open(&target, false).await?;
                let master = master?;
                crate::infra::keys::ensure_keys(store.as_ref(), &master, now()).await?;
                let delay = delay.unwrap_or(c.keys.rotation_delay_secs);
                let max = c.tokens.max_access_token_ttl_secs.max(c.tokens.id_token_ttl_secs);
                crate::infra::keys::rotate(store.as_ref(), &master, delay, max, now()).await?;
                print_json(&crate::admin::clients::key_views(&store.list_keys().await?, now()))
            }
            KeysCommand::List { target } => {
                let (_, store, _) = open(&target, false).await?;
                print_json(&crate::admin::clients::key_views(&store.list_keys().await?, now()))
            }
        },
        Command::Client { command } => client_command(command).await,
        Command::Operator { command } => operator_command(command).await,
        Command::Subscriber { command } => subscriber_command(command).await,
    }
}

fn redact(url: &str) -> String {
    match url.split_once('@') {
        Some((head, tail)) if head.contains("://") => {
            let scheme = head.split("://").next().unwrap_or("");
            format!("{scheme}://…@{tail}")
        }
        _ => url.to_owned(),
    }
}

async fn client_command(cmd: ClientCommand) -> anyhow::Result<()> {
    let target = match &cmd {
        ClientCommand::Create { target, .. }
        | ClientCommand::List { target }
        | ClientCommand::Show { target, .. }
        | ClientCommand::Suspend { target, .. }
        | ClientCommand::Activate { target, .. }
        | ClientCommand::RotateSecret { target, .. }
        | ClientCommand::SetProfile { target, .. }
        | ClientCommand::Delete { target, .. } => target.clone(),
    };
    let (c, store, _) = open(&target, false).await?;
    let store = store.as_ref();
    let max_ttl = c.tokens.max_access_token_ttl_secs;
    let max_life = max_ttl.max(c.tokens.id_token_ttl_secs);
    match cmd {
        ClientCommand::Create {
            name,
            auth_method,
            client_id,
            grant_types,
            scopes,
            purposes,
            redirect_uris,
            jwks_file,
            jwks_uri,
            access_token_ttl,
            id_token_alg,
            cors_origins,
            profile,
            ..
        } => {
            let jwks = match jwks_file {
                Some(p) => Some(
                    serde_json::from_str(
                        &std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?,
                    )
                    .context("the JWKS file is not JSON")?,
                ),
                None => None,
            };
            let req = NewClient {
                client_id,
                name,
                token_endpoint_auth_method: auth_method,
                grant_types: (!grant_types.is_empty()).then_some(grant_types),
                scopes,
                purposes,
                redirect_uris,
                jwks,
                jwks_uri,
                cors_origins,
                id_token_signed_response_alg: id_token_alg,
                access_token_ttl,
                refresh_token_ttl: None,
                backchannel_token_delivery_mode: None,
                backchannel_client_notification_endpoint: None,
                compat_profile: profile,
            };
            print_json(&manage::create_client(store, req, max_ttl, now()).await?)
        }
        ClientCommand::List { .. } => {
            let mut after: Option<String> = None;
            let mut all = Vec::new();
            loop {
                let page = store.list_clients(after.as_deref(), 1000).await?;
                let done = page.len() < 1000;
                after = page.last().map(|c| c.client_id.clone());
                all.extend(page.iter().map(manage::ClientView::from));
                if done {
                    break;
                }
            }
            print_json(&all)
        }
        ClientCommand::Show { client_id, .. } => {
            let c = store.get_client(&client_id).await?.ok_or(manage::ManageError::NotFound)?;
            print_json(&manage::ClientView::from(&c))
        }
        ClientCommand::Suspend { client_id, .. } => print_json(
            &manage::set_status(store, &client_id, ClientStatus::Suspended, max_life, now()).await?,
        ),
        ClientCommand::Activate { client_id, .. } => {
            print_json(&manage::set_status(store, &client_id, ClientStatus::Active, max_life, now()).await?)
        }
        ClientCommand::RotateSecret { client_id, expire_old_in, .. } => {
            print_json(&manage::add_secret(store, &client_id, None, Some(expire_old_in), now()).await?)
        }
        ClientCommand::SetProfile { client_id, profile, .. } => {
            let patch = manage::ClientPatch {
                compat_profile: Some((profile != "none").then_some(profile)),
                ..Default::default()
            };
            print_json(&manage::patch_client(store, &client_id, patch, max_ttl, now()).await?)
        }
        ClientCommand::Delete { client_id, .. } => {
            manage::delete_client(store, &client_id, max_life, now()).await?;
            println!("deleted {client_id}");
            Ok(())
        }
    }
}

async fn run_sandbox(args: SandboxArgs, log_format: Option<LogFormat>) -> anyhow::Result<()> {
    crate::sandbox::create_private_dir(&args.data_dir)
        .with_context(|| format!("creating the data directory {}", args.data_dir.display()))?;
    let data_dir = std::fs::canonicalize(&args.data_dir)?;
    let mut config = sandbox_config(&data_dir, args.database_url)?;
    config.server.listen = args.listen;
    init_logging(log_format.unwrap_or(config.log.format), &config.log.level);
    let tls = if args.tls { Some(sandbox_tls(&mut config, &data_dir, &args.tls_names)?) } else { None };
    let master_b64 = crate::sandbox::load_or_create_master_key(&data_dir)?;
    let secrets = crate::sandbox::SandboxSecrets::new(&master_b64)?;
    config.admin.token = secrets.admin_token().into();
    let master = MasterKey::from_base64(&master_b64)?;
    let store = netauth_store::connect(&config.database.url, config.database.max_connections)
        .await
        .context("opening the database")?;
    let listener = tokio::net::TcpListener::bind(config.server.listen)
        .await
        .with_context(|| format!("listening on {}", config.server.listen))?;
    let mut listeners = vec![(listener, crate::app::load_tls(&config)?)];
    if let Some(addr) = args.http_listen {
        let plain = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("listening on {addr} (--http-listen)"))?;
        listeners.push((plain, None));
    }
    let app = crate::app::build_state(config, store, master).await?;
    let clients = crate::sandbox::load_demo_data(&app, &data_dir, &secrets).await?;
    let subscribers = crate::sandbox::load_demo_network(&app).await?;
    let mut doc =
        crate::sandbox::describe(&app, app.config.admin.token.expose(), &data_dir, &clients, &subscribers);
    if let Some(t) = &tls {
        let mut v = serde_json::to_value(t)?;
        if let Some(addr) = args.http_listen {
            netauth_domain::json::set(&mut v, "plain_http", format!("http://{addr}"));
        }
        netauth_domain::json::set(&mut doc, "tls", v);
    }
    // It holds the demo secrets and the admin token: owner-only, like master.key.
    crate::sandbox::write_private(&data_dir.join("sandbox.json"), &serde_json::to_string_pretty(&doc)?)?;
    eprint!("{}", crate::sandbox::banner(&doc));
    let _ = app.sandbox_description.set(doc);
    crate::app::serve_on(app, listeners).await
}

/// `--tls`: the local CA and a certificate for the sandbox's names, served
/// through `[tls]`; the issuer, and so every advertised URL, becomes https.
fn sandbox_tls(
    config: &mut Config,
    data_dir: &Path,
    extra_names: &[String],
) -> anyhow::Result<crate::sandbox::tls::SandboxTls> {
    if config.server.issuer.starts_with("http://") {
        bail!("--tls serves https, but NETAUTH__SERVER__ISSUER is {}", config.server.issuer);
    }
    let mut extra: Vec<String> =
        crate::sandbox::tls::issuer_host(&config.server.issuer).into_iter().collect();
    let ip = config.server.listen.ip();
    if !ip.is_unspecified() {
        extra.push(ip.to_string());
    }
    extra.extend(extra_names.iter().cloned());
    let names = crate::sandbox::tls::names(&extra);
    let t = crate::sandbox::tls::prepare(data_dir, names, now())
        .context("preparing the sandbox's TLS certificate (--tls)")?;
    if t.new_ca {
        tracing::info!(ca = %t.ca_file.display(), "created the sandbox's local CA");
    }
    config.tls.cert_file = t.cert_file.display().to_string();
    config.tls.key_file = t.key_file.display().to_string();
    Ok(t)
}
