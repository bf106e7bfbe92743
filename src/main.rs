//! The `provisio` command line. Parses arguments, calls the library, renders diagnostics.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

mod cli;

/// mimalloc instead of glibc's malloc: in the profile of a create load a fifth of the CPU
/// was glibc's malloc and free; in three alternating wrk runs on this machine mimalloc
/// gave 1.01x to 1.22x the creates and 1.02x to 1.45x the GETs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A SCIM 2.0 provisioning target whose behaviour is written as rules.
#[derive(Debug, Parser)]
#[command(name = "provisio", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve SCIM 2.0 over HTTP.
    Serve(ServeArgs),
    /// Check a rules profile (and optionally a tenant overlay) and report every diagnostic.
    Check(CheckArgs),
    /// Show the Plan one SCIM operation would produce against a given state.
    Explain(ExplainArgs),
    /// Manage tenants (application instances).
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage API keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Manage integration users (the users API keys act for).
    #[command(subcommand)]
    User(UserCommand),
    /// Manage pre-existing application entities.
    #[command(subcommand)]
    Entities(EntitiesCommand),
    /// Manage a tenant's rules overlay (its own mappings and hooks on top of the profile).
    #[command(subcommand)]
    Overlay(OverlayCommand),
    /// Show a tenant's change history.
    History(HistoryArgs),
    /// Show a tenant's provisioning log.
    Log(LogArgs),
    /// Database maintenance.
    #[command(subcommand)]
    Db(DbCommand),
    /// Several nodes sharing one etcd (see docs/cluster.md).
    #[command(subcommand)]
    Cluster(ClusterCommand),
}

#[derive(Debug, Subcommand)]
enum ClusterCommand {
    /// List the nodes, their tenants and health, as etcd has them.
    Status(ClusterArgs),
}

/// `--cluster ENDPOINTS`
#[derive(Debug, clap::Args)]
pub struct ClusterArgs {
    /// etcd endpoints, comma-separated (`http://127.0.0.1:2379,...`).
    #[arg(long)]
    pub cluster: String,
}

#[derive(Debug, Subcommand)]
enum DbCommand {
    /// Check every index, userName claim, count, membership direction and reference
    /// against the rows (offline); exit 1 naming each inconsistency.
    Verify(DbVerifyArgs),
    /// Rows and bytes per table, and bytes per stored resource (offline).
    Stats(DbArgs),
    /// Give the pages freed by deletes and retention back to the file system (offline:
    /// stop the server first). Nothing stored changes.
    Compact(DbArgs),
}

/// `provisio db verify`
#[derive(Debug, clap::Args)]
pub struct DbVerifyArgs {
    /// Rules profile folder whose unique fields are indexed [default: as for `serve`].
    #[arg(long)]
    pub rules: Option<PathBuf>,
    /// Also compare the userName claims with this cluster's etcd (with --node).
    #[arg(long, requires = "node")]
    pub cluster: Option<String>,
    /// This database's node name in the cluster.
    #[arg(long, requires = "cluster")]
    pub node: Option<String>,
    #[command(flatten)]
    pub db: DbArgs,
}

/// Output format of `check`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum CheckFormat {
    /// miette's report: graphical on a terminal, plain when `NO_COLOR` is set or not a tty.
    Human,
    /// One JSON document with every diagnostic.
    Json,
}

/// Output format of `explain`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum PlanFormat {
    /// YAML (the default).
    Yaml,
    /// JSON.
    Json,
}

/// `provisio serve`
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Database file.
    #[arg(long, default_value = "provisio.redb")]
    pub db: PathBuf,
    /// Address to listen on for SCIM.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Address to listen on for the admin page and API (keep it private).
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub admin_listen: String,
    /// Seconds a client may take to send a request body after its head.
    #[arg(long, default_value_t = 30)]
    pub body_timeout: u64,
    /// Open SCIM connections at most (beyond it, new ones get 503 and are closed).
    #[arg(long, default_value_t = 1024)]
    pub max_connections: usize,
    /// Days of change history each tenant keeps.
    #[arg(long, default_value_t = 365)]
    pub keep_history_days: u32,
    /// Change-history records each tenant keeps at most (the newest; one operation's
    /// changes are kept or dropped together).
    #[arg(long, default_value_t = 1_000_000)]
    pub keep_history: u64,
    /// Days of provisioning log each tenant keeps.
    #[arg(long, default_value_t = 90)]
    pub keep_log_days: u32,
    /// Provisioning-log records each tenant keeps at most (the newest).
    #[arg(long, default_value_t = 200_000)]
    pub keep_log: u64,
    /// MiB of redb page cache (pages beyond it come from the OS file cache).
    #[arg(long, default_value_t = provisio::store::DEFAULT_CACHE_MIB)]
    pub cache_mib: usize,
    /// Seconds between two retention passes.
    #[arg(long, default_value_t = 600)]
    pub retention_every: u64,
    /// The public URL clients reach the server at (`https://scim.example.com` behind a
    /// TLS proxy): the start of every `meta.location` [default: `http://` and the listen address].
    #[arg(long)]
    pub public_url: Option<String>,
    /// Rules profile folder [default: rules/clarizen when present, else the Clarizen
    /// profile built into the binary].
    #[arg(long)]
    pub rules: Option<PathBuf>,
    /// Join a cluster: etcd endpoints, comma-separated (see docs/cluster.md). Without it
    /// no etcd is used.
    #[arg(long)]
    pub cluster: Option<String>,
    /// This node's name in the cluster (with --cluster).
    #[arg(long)]
    pub node: Option<String>,
    /// The origin other nodes reach this node's SCIM listener at [default: `http://` and
    /// the listen address].
    #[arg(long)]
    pub advertise: Option<String>,
}

/// `provisio check`
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Profile folder holding target.rules and default.rules.
    #[arg(default_value = "rules/clarizen")]
    pub profile: PathBuf,
    /// A tenant overlay to check on top of the profile.
    #[arg(long)]
    pub overlay: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CheckFormat::Human)]
    pub format: CheckFormat,
}

/// `provisio explain`
#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// Rules profile folder [default: rules/clarizen when present, else the Clarizen
    /// profile built into the binary].
    #[arg(long)]
    pub rules: Option<PathBuf>,
    /// A tenant overlay.
    #[arg(long)]
    pub overlay: Option<PathBuf>,
    /// The tenant state, as JSON (see docs/explain.md).
    #[arg(long)]
    pub state: PathBuf,
    /// The SCIM request, HTTP-shaped: {"method", "path", "body"}.
    pub op: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Yaml)]
    pub format: PlanFormat,
}

#[derive(Debug, Subcommand)]
enum TenantCommand {
    /// Create a tenant.
    Create(TenantCreateArgs),
    /// List tenants and their editions.
    List(TenantListArgs),
    /// Change a tenant's edition.
    Set(TenantSetArgs),
}

/// `provisio tenant list`
#[derive(Debug, clap::Args)]
pub struct TenantListArgs {
    #[command(flatten)]
    pub profile: ProfileArgs,
    #[command(flatten)]
    pub db: DbArgs,
}

/// `provisio tenant set`
#[derive(Debug, clap::Args)]
pub struct TenantSetArgs {
    /// Tenant name.
    pub name: provisio::domain::TenantId,
    /// The application edition (one of the profile's `editions`, any case).
    #[arg(long)]
    pub edition: String,
    #[command(flatten)]
    pub profile: ProfileArgs,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Change an integration user's role; its keys carry it from their next request.
    Role(UserRoleArgs),
    /// List a tenant's integration users and their roles.
    List(KeyListArgs),
}

/// `provisio user role`
#[derive(Debug, clap::Args)]
pub struct UserRoleArgs {
    /// Tenant.
    #[arg(long)]
    pub tenant: provisio::domain::TenantId,
    /// The integration user (as given to `key create --user`).
    pub user: String,
    /// The role (one of the profile's `roles`, any case).
    pub role: String,
    #[command(flatten)]
    pub profile: ProfileArgs,
    #[command(flatten)]
    pub db: DbArgs,
}

/// `--rules DIR` of the commands that name editions and roles.
#[derive(Debug, clap::Args)]
pub struct ProfileArgs {
    /// Rules profile folder whose editions and roles apply [default: as for `serve`].
    #[arg(long)]
    pub rules: Option<PathBuf>,
}

/// `--db PATH`
#[derive(Debug, clap::Args)]
pub struct DbArgs {
    /// Database file.
    #[arg(long, default_value = "provisio.redb")]
    pub db: PathBuf,
}

/// `provisio tenant create`
#[derive(Debug, clap::Args)]
pub struct TenantCreateArgs {
    /// Tenant name.
    pub name: String,
    /// The application edition [default: the profile's default edition, Enterprise].
    #[arg(long)]
    pub edition: Option<String>,
    #[command(flatten)]
    pub profile: ProfileArgs,
    /// Place the tenant on this cluster node (with --cluster) instead of the database's.
    #[arg(long, requires = "cluster")]
    pub node: Option<String>,
    /// etcd endpoints of the cluster, for --node.
    #[arg(long, requires = "node")]
    pub cluster: Option<String>,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Debug, Subcommand)]
enum KeyCommand {
    /// Create an API key; the key is printed alone on the last line, once.
    Create(KeyCreateArgs),
    /// List a tenant's keys (ids and integration users, never the keys).
    List(KeyListArgs),
    /// Revoke a key by id.
    Revoke(KeyRevokeArgs),
}

/// `provisio key create`
#[derive(Debug, clap::Args)]
pub struct KeyCreateArgs {
    /// Tenant the key belongs to.
    #[arg(long)]
    pub tenant: provisio::domain::TenantId,
    /// Integration user changes are recorded under.
    #[arg(long, default_value = "okta-integration")]
    pub user: String,
    /// The integration user's role [default: its current role; for a new user the
    /// profile's default role, Lite Admin].
    #[arg(long)]
    pub role: Option<String>,
    #[command(flatten)]
    pub profile: ProfileArgs,
    #[command(flatten)]
    pub db: DbArgs,
}

/// `provisio key list`, `provisio user list`
#[derive(Debug, clap::Args)]
pub struct KeyListArgs {
    /// Tenant.
    #[arg(long)]
    pub tenant: provisio::domain::TenantId,
    #[command(flatten)]
    pub profile: ProfileArgs,
    #[command(flatten)]
    pub db: DbArgs,
}

/// `provisio key revoke`
#[derive(Debug, clap::Args)]
pub struct KeyRevokeArgs {
    /// Tenant.
    #[arg(long)]
    pub tenant: provisio::domain::TenantId,
    /// Key id, as shown by `key list`.
    pub id: String,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Debug, Subcommand)]
enum OverlayCommand {
    /// Check an overlay against the profile and save it as the tenant's next version; it
    /// applies from the next `provisio serve`.
    Set(OverlaySetArgs),
    /// Print the tenant's current overlay.
    Show(OverlayTenantArgs),
    /// Restore the defaults: save an empty overlay as the next version.
    Reset(OverlayTenantArgs),
}

/// `provisio overlay set`
#[derive(Debug, clap::Args)]
pub struct OverlaySetArgs {
    /// Tenant.
    #[arg(long)]
    pub tenant: provisio::domain::TenantId,
    /// The overlay rules file.
    pub file: PathBuf,
    /// Rules profile folder the overlay applies to [default: as for `serve`].
    #[arg(long)]
    pub rules: Option<PathBuf>,
    #[command(flatten)]
    pub db: DbArgs,
}

/// `provisio overlay show|reset`
#[derive(Debug, clap::Args)]
pub struct OverlayTenantArgs {
    /// Tenant.
    #[arg(long)]
    pub tenant: provisio::domain::TenantId,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Debug, Subcommand)]
enum EntitiesCommand {
    /// Import pre-existing, unmanaged users and groups (JSON or CSV).
    Import(ImportArgs),
}

/// `provisio entities import`
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// Tenant.
    #[arg(long)]
    pub tenant: provisio::domain::TenantId,
    /// JSON or CSV file.
    pub file: PathBuf,
    #[command(flatten)]
    pub db: DbArgs,
}

/// `provisio history`
#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// Tenant.
    #[arg(long)]
    pub tenant: provisio::domain::TenantId,
    /// Only this user's changes.
    #[arg(long)]
    pub user: Option<String>,
    #[command(flatten)]
    pub db: DbArgs,
}

/// `provisio log`
#[derive(Debug, clap::Args)]
pub struct LogArgs {
    /// Tenant.
    #[arg(long)]
    pub tenant: provisio::domain::TenantId,
    /// Only failed requests.
    #[arg(long)]
    pub failed: bool,
    #[command(flatten)]
    pub db: DbArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => cli::serve::run(args),
        Command::Check(args) => cli::check::run(args),
        Command::Explain(args) => cli::explain::run(&args),
        Command::Tenant(TenantCommand::Create(args)) if args.node.is_some() => {
            cli::cluster::tenant_create(&args)
        }
        Command::Tenant(TenantCommand::Create(args)) => cli::admin::tenant_create(&args),
        Command::Tenant(TenantCommand::List(args)) => cli::admin::tenant_list(&args),
        Command::Tenant(TenantCommand::Set(args)) => cli::access::tenant_set(&args),
        Command::User(UserCommand::Role(args)) => cli::access::user_role(&args),
        Command::User(UserCommand::List(args)) => cli::access::user_list(&args),
        Command::Key(KeyCommand::Create(args)) => cli::admin::key_create(&args),
        Command::Key(KeyCommand::List(args)) => cli::admin::key_list(&args),
        Command::Key(KeyCommand::Revoke(args)) => cli::admin::key_revoke(&args),
        Command::Entities(EntitiesCommand::Import(args)) => cli::admin::entities_import(&args),
        Command::Overlay(OverlayCommand::Set(args)) => cli::admin::overlay_set(&args),
        Command::Overlay(OverlayCommand::Show(args)) => cli::admin::overlay_show(&args),
        Command::Overlay(OverlayCommand::Reset(args)) => cli::admin::overlay_reset(&args),
        Command::History(args) => cli::admin::history(&args),
        Command::Log(args) => cli::admin::log(&args),
        Command::Db(DbCommand::Verify(args)) => cli::db::verify(&args),
        Command::Db(DbCommand::Stats(args)) => cli::db::stats(&args),
        Command::Db(DbCommand::Compact(args)) => cli::db::compact(&args),
        Command::Cluster(ClusterCommand::Status(args)) => cli::cluster::status(&args),
    }
}
