import{A as e,B as t,H as n,L as r,P as i,T as a,U as o,W as s,l as c,w as l}from"./index-WTYal5DR.js";var u=[{label:`Spans and errors per service (last hour)`,sql:`SELECT service_name, count(*) AS spans,
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
LIMIT 50`}];function d(e){let t=(BigInt(Date.now()-36e5)*1000000n).toString();return e.replaceAll(`$NOW_MINUS_1H`,t)}var f=2e3;function p(){c(`SQL`);let f=r().query.get(`q`)??d(u[0].sql),[p,m]=s(f),[g,_]=s({loading:!1}),v=o(null),y=(e=p)=>{v.current?.abort();let n=new AbortController;v.current=n;let r=new URLSearchParams(location.search);r.set(`q`,e),t(r);let a=performance.now();_({loading:!0}),i(`/api/v1/sql`,{query:e},n.signal).then(e=>!n.signal.aborted&&_({loading:!1,result:e,ms:performance.now()-a}),e=>!n.signal.aborted&&_({loading:!1,error:e}))};return n(()=>(r().query.get(`q`)&&y(f),()=>v.current?.abort()),[]),e(`div`,{class:`sql-page`,children:[e(`div`,{class:`card sql-editor`,children:[e(`textarea`,{"data-testid":`sql-input`,spellcheck:!1,value:p,rows:Math.min(16,Math.max(6,p.split(`
`).length+1)),onInput:e=>m(e.target.value),onKeyDown:e=>{e.key===`Enter`&&(e.ctrlKey||e.metaKey)&&(e.preventDefault(),y())},"aria-label":`SQL query`}),e(`div`,{class:`sql-actions`,children:[e(`button`,{type:`button`,class:`primary`,"data-testid":`sql-run`,onClick:()=>y(),disabled:g.loading,children:[`Run `,e(`span`,{class:`muted small`,children:`Ctrl+Enter`})]}),e(`select`,{"aria-label":`Examples`,onChange:e=>{let t=Number(e.target.value);u[t]&&m(d(u[t].sql)),e.target.value=``},children:[e(`option`,{value:``,children:`Examples…`}),u.map((t,n)=>e(`option`,{value:n,children:t.label}))]}),e(`span`,{class:`muted small`,children:[`One read-only SELECT over the table `,e(`code`,{children:`spans`}),`; times are unix nanoseconds. Add a time range to large queries.`]})]})]}),g.loading&&e(a,{label:`Running query…`}),g.error!==void 0&&e(l,{error:g.error,title:`The query failed`}),g.result&&e(h,{r:g.result,ms:g.ms??0})]})}function m(e){return e==null?``:typeof e==`object`?JSON.stringify(e):String(e)}function h({r:t,ms:n}){let r=t.rows.slice(0,f);return e(`div`,{class:`card sql-result`,"data-testid":`sql-result`,children:[e(`div`,{class:`muted small`,"data-testid":`sql-summary`,children:[t.rowCount,` row`,t.rowCount===1?``:`s`,t.truncated&&` (truncated by the server row cap)`,t.rowCount>f&&`, first ${f} shown`,t.blocksScanned!==void 0&&` · ${t.blocksScanned} of ${t.blocksTotal} blocks scanned`,` · `,Math.round(n),` ms`]}),t.columns.length===0?e(`div`,{class:`muted`,children:`The query returned no columns.`}):e(`div`,{class:`table-wrap`,children:[e(`table`,{class:`grid`,children:[e(`thead`,{children:e(`tr`,{children:t.columns.map(t=>e(`th`,{title:t.type,children:[t.name,e(`div`,{class:`muted small`,children:t.type})]}))})}),e(`tbody`,{children:r.map(n=>e(`tr`,{children:n.map((n,r)=>{let i=t.columns[r]?.name??``,a=m(n),o=i===`trace_id`&&/^[0-9a-f]{32}$/.test(a);return e(`td`,{class:typeof n==`number`?`num`:``,children:o?e(`a`,{href:`/trace/${a}`,children:a}):a})})}))})]}),t.rowCount===0&&e(`div`,{class:`muted pad`,children:`No rows.`})]})]})}export{p as default};