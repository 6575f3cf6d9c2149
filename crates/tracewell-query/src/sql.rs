//! SQL over spans and logs: a read-only `spans` table (heads and blocks, the block schema) queried with DataFusion.
//!
//! - Time-range (`start_time_unix_nano`) and service (`service_name`) conditions choose the blocks to read from
//!   their `meta.json`; every condition also goes to the Parquet scan as a predicate (row groups, pages, rows).
//! - A `logs` table holds the tenant's log records (heads and logs blocks), with the same attribute columns.
//! - Only queries run: DDL, DML and statements (`CREATE`, `COPY`, `INSERT`, `SET`...) are refused, and no tables
//!   but `spans` and `logs` exist, so files and URLs cannot be read.
//! - Each query has a memory limit, a timeout and a row cap; hitting the cap is reported, not hidden.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DFSchema, ScalarValue};
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::physical_plan::{FileScanConfigBuilder, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::execution::context::SQLOptions;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::logical_expr::utils::conjunction;
use datafusion::logical_expr::{
    BinaryExpr, Expr, Operator, TableProviderFilterPushDown, TableType,
};
use datafusion::physical_plan::coop::CooperativeExec;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::{PartitionStream, StreamingTableExec};
use datafusion::physical_plan::union::UnionExec;
use datafusion::physical_plan::{execute_stream, ExecutionPlan};
use datafusion::prelude::{SessionConfig, SessionContext};
use futures::{StreamExt, TryStreamExt};
use parking_lot::Mutex;
use serde_json::Value;
use tracewell_model::{Span, TenantId};
use tracewell_store::block::{self, schema::col};
use tracewell_store::{BlockMeta, Store};

use crate::error::{QueryError, Result};
use crate::QueryService;

/// The URL the block object store is registered under in a query's runtime.
const BLOCKS_URL: &str = "tracewell://blocks/";

/// A column of a SQL result.
#[derive(Debug, Clone, PartialEq)]
pub struct SqlColumn {
    pub name: String,
    pub data_type: String,
}

/// A SQL result, rows as JSON values (numbers and booleans as such, binary as hex, the rest as text).
#[derive(Debug, Clone, Default)]
pub struct SqlResult {
    pub columns: Vec<SqlColumn>,
    pub rows: Vec<Vec<Value>>,
    /// More rows existed than the row cap.
    pub truncated: bool,
    pub blocks_total: usize,
    pub blocks_scanned: usize,
}

/// What the table's scans read, for the result and for tests.
#[derive(Debug, Default)]
struct ScanStats {
    blocks_total: usize,
    blocks_scanned: usize,
}

/// The `spans` table of one tenant.
#[derive(Debug)]
struct SpansTable {
    store: Store,
    tenant: TenantId,
    stats: Arc<Mutex<ScanStats>>,
}

/// Bounds the filters put on start time and service, for choosing blocks.
#[derive(Debug, PartialEq)]
struct Pruning {
    min_start: Option<u64>,
    max_start: Option<u64>,
    services: Option<Vec<String>>,
    /// The table's time and service columns.
    columns: (&'static str, &'static str),
}

fn is_column(e: &Expr, name: &str) -> bool {
    match e {
        Expr::Column(c) => c.name == name,
        Expr::Cast(c) => is_column(&c.expr, name),
        Expr::TryCast(c) => is_column(&c.expr, name),
        _ => false,
    }
}

fn literal(e: &Expr) -> Option<&ScalarValue> {
    match e {
        Expr::Literal(v, _) => Some(v),
        _ => None,
    }
}

fn as_u64(v: &ScalarValue) -> Option<u64> {
    match v.cast_to(&DataType::UInt64).ok()? {
        ScalarValue::UInt64(Some(n)) => Some(n),
        _ => None,
    }
}

fn as_string(v: &ScalarValue) -> Option<String> {
    match v {
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s)) => Some(s.clone()),
        ScalarValue::Dictionary(_, inner) => as_string(inner),
        _ => None,
    }
}

impl Pruning {
    /// The bounds of the `spans` table's filters.
    fn from_filters(filters: &[Expr]) -> Self {
        Self::from_filters_on(filters, (col::START, col::SERVICE_NAME))
    }

    /// The bounds of filters on the given time and service columns.
    fn from_filters_on(filters: &[Expr], columns: (&'static str, &'static str)) -> Self {
        let mut p = Pruning {
            min_start: None,
            max_start: None,
            services: None,
            columns,
        };
        for f in filters {
            p.add(f);
        }
        p
    }

    fn add(&mut self, e: &Expr) {
        match e {
            Expr::BinaryExpr(BinaryExpr {
                left,
                op: Operator::And,
                right,
            }) => {
                self.add(left);
                self.add(right);
            }
            Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
                let (column, value, op) = match (literal(right), literal(left)) {
                    (Some(v), _) => (left.as_ref(), v, *op),
                    (None, Some(v)) => match op.swap() {
                        Some(swapped) => (right.as_ref(), v, swapped),
                        None => return,
                    },
                    _ => return,
                };
                if is_column(column, self.columns.0) {
                    let Some(n) = as_u64(value) else { return };
                    match op {
                        Operator::Gt | Operator::GtEq => self.raise_min(n),
                        Operator::Lt | Operator::LtEq => self.lower_max(n),
                        Operator::Eq => {
                            self.raise_min(n);
                            self.lower_max(n);
                        }
                        _ => {}
                    }
                } else if is_column(column, self.columns.1) && op == Operator::Eq {
                    if let Some(s) = as_string(value) {
                        self.restrict_services(vec![s]);
                    }
                }
            }
            Expr::Between(b) if !b.negated && is_column(&b.expr, self.columns.0) => {
                if let Some(lo) = literal(&b.low).and_then(as_u64) {
                    self.raise_min(lo);
                }
                if let Some(hi) = literal(&b.high).and_then(as_u64) {
                    self.lower_max(hi);
                }
            }
            Expr::InList(list) if !list.negated && is_column(&list.expr, self.columns.1) => {
                let values: Option<Vec<String>> = list
                    .list
                    .iter()
                    .map(|e| literal(e).and_then(as_string))
                    .collect();
                if let Some(values) = values {
                    self.restrict_services(values);
                }
            }
            _ => {}
        }
    }

    fn raise_min(&mut self, n: u64) {
        self.min_start = Some(self.min_start.map_or(n, |m| m.max(n)));
    }

    fn lower_max(&mut self, n: u64) {
        self.max_start = Some(self.max_start.map_or(n, |m| m.min(n)));
    }

    fn restrict_services(&mut self, values: Vec<String>) {
        self.services = Some(match self.services.take() {
            None => values,
            Some(existing) => existing
                .into_iter()
                .filter(|s| values.contains(s))
                .collect(),
        });
    }

    fn admits_block(&self, meta: &BlockMeta) -> bool {
        let s = &meta.stats;
        if self.min_start.is_some_and(|lo| s.max_end_unix_nano < lo)
            || self.max_start.is_some_and(|hi| s.min_start_unix_nano > hi)
        {
            return false;
        }
        match &self.services {
            None => true,
            Some(wanted) => wanted.iter().any(|w| s.services.binary_search(w).is_ok()),
        }
    }

    /// The start-time bounds, if any, for pruning row groups.
    fn start_range(&self) -> Option<(u64, u64)> {
        (self.min_start.is_some() || self.max_start.is_some()).then(|| {
            (
                self.min_start.unwrap_or(0),
                self.max_start.unwrap_or(u64::MAX),
            )
        })
    }

    fn admits_span(&self, span: &Span) -> bool {
        self.min_start.is_none_or(|lo| span.start_unix_nano >= lo)
            && self.max_start.is_none_or(|hi| span.start_unix_nano <= hi)
            && self
                .services
                .as_ref()
                .is_none_or(|wanted| wanted.iter().any(|w| w == span.service_name()))
    }
}

fn df_error(e: impl std::fmt::Display) -> datafusion::error::DataFusionError {
    datafusion::error::DataFusionError::Execution(e.to_string())
}

#[async_trait]
impl TableProvider for SpansTable {
    fn schema(&self) -> SchemaRef {
        block::schema::block_schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> datafusion::error::Result<Vec<TableProviderFilterPushDown>> {
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
        let schema = self.schema();
        let pruning = Pruning::from_filters(filters);
        // Heads before blocks: a head flushed in between is then seen in its block too rather than not at all.
        let heads: Vec<_> = self
            .store
            .heads(&self.tenant)
            .into_iter()
            .filter(|h| !h.block_written())
            .collect();
        let all_blocks = self.store.blocks(&self.tenant);
        let (blocks, v2_blocks): (Vec<_>, Vec<_>) = all_blocks
            .iter()
            .filter(|b| pruning.admits_block(b))
            .partition(|b| b.format == block::BlockFormat::V1.as_str());
        {
            let mut stats = self.stats.lock();
            stats.blocks_total = all_blocks.len();
            stats.blocks_scanned += blocks.len() + v2_blocks.len();
        }
        let mut inputs: Vec<Arc<dyn ExecutionPlan>> = Vec::new();
        if !blocks.is_empty() {
            let mut source = ParquetSource::new(Arc::clone(&schema))
                .with_enable_page_index(true)
                .with_bloom_filter_on_read(true);
            if let Some(predicate) = conjunction(filters.to_vec()) {
                let df_schema = DFSchema::try_from(schema.as_ref().clone())?;
                source = source.with_predicate(state.create_physical_expr(predicate, &df_schema)?);
            }
            let url = ObjectStoreUrl::parse(BLOCKS_URL)?;
            let mut config = FileScanConfigBuilder::new(url, Arc::new(source));
            for meta in &blocks {
                config = config.with_file(PartitionedFile::new(
                    meta.data_path().to_string(),
                    meta.size_bytes,
                ));
            }
            let config = config
                .with_projection_indices(projection.cloned())?
                .with_limit(limit)
                .build();
            inputs.push(DataSourceExec::from_data_source(config));
        }
        if !v2_blocks.is_empty() {
            let projected = match projection {
                Some(p) => Arc::new(schema.project(p)?),
                None => Arc::clone(&schema),
            };
            let partitions: Vec<Arc<dyn PartitionStream>> = v2_blocks
                .iter()
                .map(|meta| -> Arc<dyn PartitionStream> {
                    Arc::new(BlockPartition {
                        store: self.store.clone(),
                        meta: Arc::clone(meta),
                        schema: Arc::clone(&projected),
                        start_range: pruning.start_range(),
                    })
                })
                .collect();
            inputs.push(Arc::new(StreamingTableExec::try_new(
                projected,
                partitions,
                None,
                Vec::new(),
                false,
                limit,
            )?));
        }
        let mut head_batches = Vec::new();
        for head in &heads {
            let mut spans: Vec<Span> = Vec::new();
            head.visit_traces(|_, trace| {
                spans.extend(trace.iter().filter(|s| pruning.admits_span(s)).cloned())
            });
            if !spans.is_empty() {
                let refs: Vec<&Span> = spans.iter().collect();
                head_batches.push(block::spans_to_batch(&refs).map_err(df_error)?);
            }
        }
        if !head_batches.is_empty() || inputs.is_empty() {
            inputs.push(MemorySourceConfig::try_new_exec(
                &[head_batches],
                Arc::clone(&schema),
                projection.cloned(),
            )?);
        }
        UnionExec::try_new(inputs)
    }
}

/// The `logs` table of one tenant: its log records from heads and logs blocks. Conditions on `time_unix_nano`
/// choose the logs blocks to read and on `service_name` the records to keep; DataFusion applies every
/// condition again on the rows.
#[derive(Debug)]
struct LogsTable {
    store: Store,
    tenant: TenantId,
}

#[async_trait]
impl TableProvider for LogsTable {
    fn schema(&self) -> SchemaRef {
        block::logs_schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> datafusion::error::Result<Vec<TableProviderFilterPushDown>> {
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        _limit: Option<usize>,
    ) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
        let pruning = Pruning::from_filters_on(
            filters,
            (block::log_col::TIME, block::log_col::SERVICE_NAME),
        );
        let query = tracewell_store::LogQuery {
            start_unix_nano: pruning.min_start.unwrap_or(0),
            end_unix_nano: pruning.max_start.unwrap_or(u64::MAX),
            service: pruning.services.as_ref().and_then(|s| match s.as_slice() {
                [one] => Some(one.clone()),
                _ => None,
            }),
            limit: usize::MAX,
            ..Default::default()
        };
        let found = self
            .store
            .search_logs(&self.tenant, &query)
            .await
            .map_err(df_error)?;
        let records: Vec<_> = found
            .records
            .iter()
            .filter(|r| {
                pruning
                    .services
                    .as_ref()
                    .is_none_or(|wanted| wanted.iter().any(|w| w == r.service_name()))
            })
            .collect();
        let batch = block::logs_to_batch(&records).map_err(df_error)?;
        Ok(MemorySourceConfig::try_new_exec(
            &[vec![batch]],
            block::logs_schema(),
            projection.cloned(),
        )?)
    }
}

/// One block read through the store's logical scan (formats DataFusion cannot read as plain Parquet).
#[derive(Debug)]
struct BlockPartition {
    store: Store,
    meta: Arc<BlockMeta>,
    /// The projected columns of the `spans` table.
    schema: SchemaRef,
    start_range: Option<(u64, u64)>,
}

impl PartitionStream for BlockPartition {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(
        &self,
        _ctx: Arc<datafusion::execution::TaskContext>,
    ) -> datafusion::execution::SendableRecordBatchStream {
        let (store, meta, schema) = (
            self.store.clone(),
            Arc::clone(&self.meta),
            Arc::clone(&self.schema),
        );
        let start_range = self.start_range;
        let batches = futures::stream::once(async move {
            let columns: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            let request = block::ScanRequest {
                columns: &columns,
                start_range,
                batch_rows: 8192,
                filter: None,
                row_groups: None,
            };
            let stream = block::scan(
                store.objects(),
                &meta.data_path(),
                Some(meta.size_bytes),
                request,
            )
            .await
            .map_err(df_error)?;
            let schema = Arc::clone(&schema);
            Ok::<_, datafusion::error::DataFusionError>(stream.map(move |batch| {
                let batch = batch.map_err(df_error)?;
                // Scans hand strings out as dictionaries; the table's columns are plain.
                let columns = batch
                    .columns()
                    .iter()
                    .zip(schema.fields())
                    .map(|(c, f)| arrow::compute::cast(c, f.data_type()))
                    .collect::<std::result::Result<Vec<_>, _>>()?;
                let options =
                    arrow::array::RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
                Ok(RecordBatch::try_new_with_options(
                    Arc::clone(&schema),
                    columns,
                    &options,
                )?)
            }))
        })
        .try_flatten();
        Box::pin(RecordBatchStreamAdapter::new(
            Arc::clone(&self.schema),
            batches,
        ))
    }
}

/// Renders one value of a result column as JSON.
fn json_value(array: &ArrayRef, formatter: &ArrayFormatter<'_>, row: usize) -> Value {
    use arrow::datatypes::*;
    if array.is_null(row) {
        return Value::Null;
    }
    macro_rules! num {
        ($t:ty) => {
            Value::from(array.as_primitive::<$t>().value(row))
        };
    }
    match array.data_type() {
        DataType::Boolean => Value::from(array.as_boolean().value(row)),
        DataType::Int8 => num!(Int8Type),
        DataType::Int16 => num!(Int16Type),
        DataType::Int32 => num!(Int32Type),
        DataType::Int64 => num!(Int64Type),
        DataType::UInt8 => num!(UInt8Type),
        DataType::UInt16 => num!(UInt16Type),
        DataType::UInt32 => num!(UInt32Type),
        DataType::UInt64 => num!(UInt64Type),
        DataType::Float32 => num!(Float32Type),
        DataType::Float64 => num!(Float64Type),
        DataType::FixedSizeBinary(_) => Value::from(hex(array.as_fixed_size_binary().value(row))),
        DataType::Binary => Value::from(hex(array.as_binary::<i32>().value(row))),
        DataType::Decimal128(..) | DataType::Decimal256(..) => {
            let text = formatter.value(row).to_string();
            text.parse::<f64>().map_or(Value::from(text), Value::from)
        }
        _ => Value::from(formatter.value(row).to_string()),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl QueryService {
    /// Runs a read-only SQL query, traced for self-tracing.
    pub async fn sql(&self, tenant: &TenantId, query: &str) -> Result<SqlResult> {
        let work = crate::query_work("sql", tenant);
        work.set("tracewell.query", query.to_owned());
        let result = self.sql_inner(tenant, query).await;
        work.finish(&result, |w, found| {
            w.set("tracewell.rows", found.rows.len() as i64);
            w.set("tracewell.blocks_scanned", found.blocks_scanned as i64);
        });
        result
    }

    /// Runs a read-only SQL query over the tenant's `spans` table.
    async fn sql_inner(&self, tenant: &TenantId, query: &str) -> Result<SqlResult> {
        if query.trim().is_empty() {
            return Err(QueryError::bad("query is empty"));
        }
        if query.len() > self.config.sql_max_query_bytes {
            return Err(QueryError::bad(format!(
                "query is longer than {} bytes",
                self.config.sql_max_query_bytes
            )));
        }
        let stats = Arc::new(Mutex::new(ScanStats::default()));
        let runtime = RuntimeEnvBuilder::new()
            .with_memory_limit(self.config.sql_memory_bytes, 1.0)
            // No spilling: a query never writes files.
            .with_disk_manager_builder(
                DiskManagerBuilder::default().with_mode(DiskManagerMode::Disabled),
            )
            .build_arc()
            .map_err(|e| QueryError::Internal(e.to_string()))?;
        let session = SessionConfig::new()
            .with_target_partitions(2)
            .with_information_schema(false);
        let ctx = SessionContext::new_with_config_rt(session, runtime);
        let url =
            ObjectStoreUrl::parse(BLOCKS_URL).map_err(|e| QueryError::Internal(e.to_string()))?;
        ctx.register_object_store(url.as_ref(), self.store.objects());
        let table = SpansTable {
            store: self.store.clone(),
            tenant: tenant.clone(),
            stats: Arc::clone(&stats),
        };
        ctx.register_table("spans", Arc::new(table))
            .map_err(|e| QueryError::Internal(e.to_string()))?;
        let logs = LogsTable {
            store: self.store.clone(),
            tenant: tenant.clone(),
        };
        ctx.register_table("logs", Arc::new(logs))
            .map_err(|e| QueryError::Internal(e.to_string()))?;
        let options = SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false);
        let max_rows = self.config.sql_max_rows;
        let query = query.to_owned();
        let run = async move {
            let frame = ctx
                .sql_with_options(&query, options)
                .await
                .map_err(sql_error)?;
            let plan = frame.create_physical_plan().await.map_err(sql_error)?;
            // Every operator yields to the scheduler now and then, so an abandoned query stops at its next batch
            // instead of running to the end.
            let plan = plan
                .transform_up(|node| {
                    Ok(Transformed::yes(
                        Arc::new(CooperativeExec::new(node)) as Arc<dyn ExecutionPlan>
                    ))
                })
                .map_err(sql_error)?
                .data;
            let mut stream = execute_stream(plan, ctx.task_ctx()).map_err(sql_error)?;
            let schema = stream.schema();
            let mut out = SqlResult {
                columns: schema
                    .fields()
                    .iter()
                    .map(|f| SqlColumn {
                        name: f.name().clone(),
                        data_type: f.data_type().to_string(),
                    })
                    .collect(),
                ..Default::default()
            };
            while let Some(batch) = stream.next().await {
                let batch: RecordBatch = batch.map_err(sql_error)?;
                if append_rows(&mut out, &batch, max_rows)? {
                    out.truncated = true;
                    break;
                }
            }
            Ok(out)
        };
        // On its own task (started once admitted), so the timeout answers the caller even while the query
        // computes without pause; the task is aborted when the caller stops waiting.
        let joined = async {
            let mut task = AbortOnDrop(tokio::spawn(run));
            (&mut task.0)
                .await
                .map_err(|e| QueryError::Internal(format!("SQL task failed: {e}")))?
        };
        let mut result = self.limited(joined).await?;
        let stats = stats.lock();
        result.blocks_total = stats.blocks_total;
        result.blocks_scanned = stats.blocks_scanned;
        Ok(result)
    }
}

/// Aborts a spawned query when the caller stops waiting for it (timeout, dropped request).
struct AbortOnDrop(tokio::task::JoinHandle<Result<SqlResult>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Appends a batch's rows; true once more than `max_rows` rows were seen.
fn append_rows(out: &mut SqlResult, batch: &RecordBatch, max_rows: usize) -> Result<bool> {
    let options = FormatOptions::default();
    let formatters: Vec<ArrayFormatter<'_>> = batch
        .columns()
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| QueryError::Internal(e.to_string()))?;
    for row in 0..batch.num_rows() {
        if out.rows.len() == max_rows {
            return Ok(true);
        }
        out.rows.push(
            batch
                .columns()
                .iter()
                .zip(&formatters)
                .map(|(c, f)| json_value(c, f, row))
                .collect(),
        );
    }
    Ok(false)
}

/// DataFusion errors in SQL terms: the user's mistakes are bad requests, refusals and the memory limit say so.
fn sql_error(e: datafusion::error::DataFusionError) -> QueryError {
    use datafusion::error::DataFusionError as E;
    let text = e.to_string();
    match e.find_root() {
        E::ResourcesExhausted(m) => {
            QueryError::bad(format!("query exceeded its memory limit: {m}"))
        }
        _ if [
            "DDL not supported",
            "DML not supported",
            "Statement not supported",
        ]
        .iter()
        .any(|refusal| text.contains(refusal)) =>
        {
            QueryError::bad(format!(
                "refused: only read-only queries (SELECT, EXPLAIN) run here ({text})"
            ))
        }
        E::SQL(..) | E::Plan(_) | E::SchemaError(..) | E::NotImplemented(_) => {
            QueryError::bad(format!("invalid query: {text}"))
        }
        E::IoError(_) | E::ObjectStore(_) | E::ParquetError(_) | E::Internal(_) => {
            QueryError::Internal(text)
        }
        _ => QueryError::bad(format!("query failed: {text}")),
    }
}
