"""An MCP client session against Tracewell's /mcp, with the reference Python SDK (`pip install mcp`).

    python3 client.py URL CALLS_JSON

CALLS_JSON is a list of [tool, arguments]. Prints one JSON document: the server's name and protocol version,
the tools it lists, and for each call its isError flag and text.
"""

import asyncio
import json
import sys

from mcp import ClientSession
from mcp.client.streamable_http import create_mcp_http_client, streamable_http_client


def field(obj, snake, camel):
    """SDK 2.x names fields in snake_case, 1.x in camelCase."""
    return getattr(obj, snake) if hasattr(obj, snake) else getattr(obj, camel)


async def main(url, calls):
    report = {"calls": []}
    http = create_mcp_http_client(headers={"X-Scope-OrgID": "single-tenant"})
    async with streamable_http_client(url, http_client=http) as streams:
        read, write = streams[0], streams[1]
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            report["server"] = field(init, "server_info", "serverInfo").name
            report["protocolVersion"] = field(init, "protocol_version", "protocolVersion")
            report["instructions"] = init.instructions
            tools = await session.list_tools()
            report["tools"] = [t.name for t in tools.tools]
            for name, arguments in calls:
                result = await session.call_tool(name, arguments)
                text = "".join(c.text for c in result.content if getattr(c, "type", "") == "text")
                report["calls"].append({"tool": name, "isError": bool(field(result, "is_error", "isError")), "text": text})
            await session.send_ping()
    print(json.dumps(report))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], json.loads(sys.argv[2])))
