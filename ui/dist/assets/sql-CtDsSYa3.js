import{D as e,F as t,I as n,N as r,_ as i,f as a,i as o,j as s,o as c,s as l}from"./hooks-K3hlYKBr.js";var u=[{label:`Spans and errors per service (last hour)`,sql:`SELECT service_name, count(*) AS spans,
       sum(CASE WHEN status_code = 2 THEN 1 ELSE 0 END) AS errors
FROM spans
WHERE start_time_unix_nano >= $NOW_MINUS_1H
GROUP BY service_name
ORDER BY spans DESC`},{label:`Slowest operations (p99, last hour)`,sql:`SELECT service_name, name, count(*) AS spans,
       approx_percentile_cont(duration_nano, 0.99) / 1e6 AS p99_ms
FROM spans
WHERE start_time_unix_nano >= $NOW_MINUS_1H
GROUP BY service_name, name
ORDER BY p99_ms DESC
LIMIT 20`},{label:`Recent errors with messages`,sql:`SELECT trace_id, service_name, name, status_message, duration_nano / 1e6 AS ms
FROM spans
WHERE status_code = 2 AND start_time_unix_nano >= $NOW_MINUS_1H
ORDER BY start_time_unix_nano DESC
LIMIT 50`},{label:`HTTP status codes by route`,sql:`SELECT http_route, http_response_status_code, count(*) AS n
FROM spans
WHERE http_route IS NOT NULL AND start_time_unix_nano >= $NOW_MINUS_1H
GROUP BY 1, 2
ORDER BY n DESC
LIMIT 50`}];function d(e){let t=(BigInt(Date.now()-36e5)*1000000n).toString();return e.replaceAll(`$NOW_MINUS_1H`,t)}var f=2e3;function p(){o(`SQL`);let f=e().query.get(`q`)??d(u[0].sql),[p,m]=n(f),[g,_]=n({loading:!1}),v=t(null),y=(e=p)=>{v.current?.abort();let t=new AbortController;v.current=t;let n=new URLSearchParams(location.search);n.set(`q`,e),s(n);let r=performance.now();_({loading:!0}),i(`/api/v1/sql`,{query:e},t.signal).then(e=>!t.signal.aborted&&_({loading:!1,result:e,ms:performance.now()-r}),e=>!t.signal.aborted&&_({loading:!1,error:e}))};return r(()=>(e().query.get(`q`)&&y(f),()=>v.current?.abort()),[]),a(`div`,{class:`sql-page`,children:[a(`div`,{class:`card sql-editor`,children:[a(`textarea`,{"data-testid":`sql-input`,spellcheck:!1,value:p,rows:Math.min(16,Math.max(6,p.split(`
`).length+1)),onInput:e=>m(e.target.value),onKeyDown:e=>{e.key===`Enter`&&(e.ctrlKey||e.metaKey)&&(e.preventDefault(),y())},"aria-label":`SQL query`}),a(`div`,{class:`sql-actions`,children:[a(`button`,{type:`button`,class:`primary`,"data-testid":`sql-run`,onClick:()=>y(),disabled:g.loading,children:[`Run `,a(`span`,{class:`muted small`,children:`Ctrl+Enter`})]}),a(`select`,{"aria-label":`Examples`,onChange:e=>{let t=Number(e.target.value);u[t]&&m(d(u[t].sql)),e.target.value=``},children:[a(`option`,{value:``,children:`Examples…`}),u.map((e,t)=>a(`option`,{value:t,children:e.label}))]}),a(`span`,{class:`muted small`,children:[`One read-only SELECT over the table `,a(`code`,{children:`spans`}),`; times are unix nanoseconds. Add a time range to large queries.`]})]})]}),g.loading&&a(l,{label:`Running query…`}),g.error!==void 0&&a(c,{error:g.error,title:`The query failed`}),g.result&&a(h,{r:g.result,ms:g.ms??0})]})}function m(e){return e==null?``:typeof e==`object`?JSON.stringify(e):String(e)}function h({r:e,ms:t}){let n=e.rows.slice(0,f);return a(`div`,{class:`card sql-result`,"data-testid":`sql-result`,children:[a(`div`,{class:`muted small`,"data-testid":`sql-summary`,children:[e.rowCount,` row`,e.rowCount===1?``:`s`,e.truncated&&` (truncated by the server row cap)`,e.rowCount>f&&`, first ${f} shown`,e.blocksScanned!==void 0&&` · ${e.blocksScanned} of ${e.blocksTotal} blocks scanned`,` · `,Math.round(t),` ms`]}),e.columns.length===0?a(`div`,{class:`muted`,children:`The query returned no columns.`}):a(`div`,{class:`table-wrap`,children:[a(`table`,{class:`grid`,children:[a(`thead`,{children:a(`tr`,{children:e.columns.map(e=>a(`th`,{title:e.type,children:[e.name,a(`div`,{class:`muted small`,children:e.type})]}))})}),a(`tbody`,{children:n.map(t=>a(`tr`,{children:t.map((t,n)=>{let r=e.columns[n]?.name??``,i=m(t),o=r===`trace_id`&&/^[0-9a-f]{32}$/.test(i);return a(`td`,{class:typeof t==`number`?`num`:``,children:o?a(`a`,{href:`/trace/${i}`,children:i}):i})})}))})]}),e.rowCount===0&&a(`div`,{class:`muted pad`,children:`No rows.`})]})]})}export{p as default};