//! `tracewell query`: ask a running server for a trace, a search, a TraceQL search or a SQL result, printed as tables and trees for
//! people or as the server's JSON (`--json`) for scripts.

mod client;
mod render;

use std::time::Duration;

use client::Client;

/// `tracewell query` options and subcommands.
#[derive(clap::Args, Debug)]
pub struct QueryArgs {
    /// Query API of the server.
    #[arg(
        long,
        env = "TRACEWELL_QUERY_URL",
        default_value = "http://127.0.0.1:16686",
        global = true
    )]
    pub server: String,
    /// Tenant (sent as X-Scope-OrgID).
    #[arg(long, global = true)]
    pub tenant: Option<String>,
    /// API token with the read scope, for a server started with --auth-tokens (sent as Authorization: Bearer).
    #[arg(
        long,
        env = "TRACEWELL_QUERY_TOKEN",
        hide_env_values = true,
        global = true
    )]
    pub token: Option<String>,
    /// PEM CA certificate to trust for an https:// server, besides the system's roots.
    #[arg(long, env = "TRACEWELL_QUERY_CA_CERT", global = true)]
    pub ca_cert: Option<std::path::PathBuf>,
    /// Print the server's JSON answer instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
    /// Give up after this long.
    #[arg(long, default_value = "60s", value_parser = crate::units::parse_duration, global = true)]
    pub timeout: Duration,
    #[command(subcommand)]
    pub command: QueryCommand,
}

#[derive(clap::Subcommand, Debug)]
pub enum QueryCommand {
    /// One trace by id, as a tree of spans.
    Trace {
        /// Trace id, 32 (or 16) hex digits.
        id: String,
    },
    /// Traces matching conditions, most recent first.
    Search(Box<SearchArgs>),
    /// A TraceQL search, e.g. '{ resource.service.name = "checkout" } >> { status = error }'.
    Traceql {
        /// The TraceQL query.
        query: String,
        /// How far back to search.
        #[arg(long, default_value = "1h")]
        lookback: String,
        /// Most traces returned.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// A read-only SQL query over the `spans` table.
    Sql {
        /// The query, e.g. "SELECT service_name, count(*) FROM spans GROUP BY 1".
        query: String,
    },
    /// Services seen.
    Services,
}

#[derive(clap::Args, Debug)]
pub struct SearchArgs {
    #[arg(long)]
    pub service: Option<String>,
    /// Span name.
    #[arg(long)]
    pub operation: Option<String>,
    /// server, client, producer, consumer, internal.
    #[arg(long)]
    pub kind: Option<String>,
    /// ok, error or unset.
    #[arg(long)]
    pub status: Option<String>,
    /// Attribute condition (repeatable): key=value, key=a|b, key!=value, key=~regex, key!~regex.
    #[arg(long = "tag")]
    pub tags: Vec<String>,
    /// Shortest matching span, e.g. 250ms.
    #[arg(long)]
    pub min_duration: Option<String>,
    /// Longest matching span.
    #[arg(long)]
    pub max_duration: Option<String>,
    /// How far back to search when --start is not given.
    #[arg(long, default_value = "1h")]
    pub lookback: String,
    /// Start of the range: RFC 3339 or unix nanoseconds.
    #[arg(long)]
    pub start: Option<String>,
    /// End of the range (default now).
    #[arg(long)]
    pub end: Option<String>,
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
}

impl SearchArgs {
    fn query_pairs(&self) -> Vec<(&'static str, String)> {
        let mut q = vec![
            ("lookback", self.lookback.clone()),
            ("limit", self.limit.to_string()),
        ];
        let optional = [
            ("service", &self.service),
            ("operation", &self.operation),
            ("kind", &self.kind),
            ("status", &self.status),
            ("minDuration", &self.min_duration),
            ("maxDuration", &self.max_duration),
            ("start", &self.start),
            ("end", &self.end),
        ];
        for (key, value) in optional {
            if let Some(v) = value {
                q.push((key, v.clone()));
            }
        }
        q.extend(self.tags.iter().map(|t| ("tag", t.clone())));
        q
    }
}

/// Runs a query subcommand, printing to stdout.
pub async fn run(args: QueryArgs) -> anyhow::Result<()> {
    let client = Client::new(
        &args.server,
        args.tenant.as_deref(),
        args.token.as_deref(),
        args.ca_cert.as_deref(),
        args.timeout,
    )?;
    let answer = match &args.command {
        QueryCommand::Trace { id } => client.get(&format!("/api/v1/traces/{id}"), &[]).await?,
        QueryCommand::Search(search) => client.get("/api/v1/search", &search.query_pairs()).await?,
        QueryCommand::Traceql {
            query,
            lookback,
            limit,
        } => {
            client
                .post_json(
                    "/api/v1/traceql",
                    &serde_json::json!({ "query": query, "lookback": lookback, "limit": limit }),
                )
                .await?
        }
        QueryCommand::Sql { query } => {
            client
                .post_json("/api/v1/sql", &serde_json::json!({ "query": query }))
                .await?
        }
        QueryCommand::Services => client.get("/api/v1/services", &[]).await?,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
        return Ok(());
    }
    let text = match &args.command {
        QueryCommand::Trace { .. } => render::trace_tree(&answer),
        QueryCommand::Search(_) => render::search_table(&answer),
        QueryCommand::Traceql { .. } => render::traceql_table(&answer),
        QueryCommand::Sql { .. } => render::sql_table(&answer),
        QueryCommand::Services => render::list(&answer["services"]),
    };
    print!("{text}");
    Ok(())
}
