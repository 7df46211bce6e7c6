#!/usr/bin/env node
// An in-memory SCIM 2.0 server built on SCIMMY (npm `scimmy`, with its Express routers
// `scimmy-routers`), so that the SCIM target is judged by a second third-party implementation
// besides scim2-server. All SCIM behaviour is the library's: this file only stores resources in
// a Map, checks a static bearer token and starts the HTTP server. Versions are pinned by
// tests/scimmy/package-lock.json; tests/python-tools.sh installs them (`npm ci`) into
// $HRIS_TEST_VENV/scimmy/node_modules.
//
// Usage:
//   NODE_PATH=$HRIS_TEST_VENV/scimmy/node_modules node tests/scimmy/server.js \
//     --token T [--host 127.0.0.1] [--port 0]
// It prints one line once it listens, `SCIMMY server on http://HOST:PORT/scim/v2` (port 0 picks
// a free port), and exits on SIGTERM, SIGINT, or when its standard input closes.
//
// What SCIMMY 1.3.5 with scimmy-routers 1.3.2 offers, on Express 4 (the major version the
// routers are built and tested against; on Express 5 their cast of startIndex/count to numbers
// is lost), as probed against this server:
// - ServiceProviderConfig: patch, filter (maxResults 200), sort and bulk (maxOperations 1000,
//   maxPayloadSize 1 MiB) supported; etag and changePassword not. Every endpoint, this one
//   included, needs the token.
// - Pagination: startIndex/count, applied by the library's ListResponse to what the egress
//   handler returns. Without count a page holds 20; count is not capped at filter.maxResults.
//   (!) A startIndex past the end answers the FIRST page again (totalResults stays right).
// - Filters: eq ne co sw ew gt lt ge le pr np, and/or/not, grouping, `emails[type eq "work"]`
//   and `emails.value`; attribute names are case-insensitive. (!) Every comparison is
//   case-sensitive, also on caseExact=false attributes (`userName eq "ADA@X"` misses "ada@x").
//   (!) A value filter on a multi-valued attribute answers 400 invalidValue ("Cannot convert
//   undefined or null to object") as soon as one user lacks that attribute. (!) A filter on an
//   extension attribute by its URN path matches nothing. An unknown operator is 400
//   invalidFilter. sortBy/sortOrder are applied.
// - PATCH: add/replace/remove (op names case-insensitive); paths `attr`, `attr.sub`,
//   `urn:…:User:attr` (extension attributes; removing `…:manager` removes the manager),
//   `emails[type eq "work"].value`, `emails[type eq "home"]`, and path-less add/replace with an
//   object value. 200 with the resource, or 204 with no body when nothing changed. (!) A string
//   "False" for a boolean is 400 invalidValue. An unknown path is 400 invalidPath.
// - POST ignores unknown attributes (dropped, no error); PUT replaces the whole resource.
// - Bulk: POST/PUT/PATCH/DELETE, bulkId references, failOnErrors. (!) The response repeats
//   bulkId only for POST: PATCH/PUT/DELETE results carry method, location and status alone.
//   Statuses are strings ("201", "409"); an operation's `version` is ignored.
// - ETag/If-Match: none from SCIMMY: no meta.version, If-Match ignored (a PATCH with a wrong
//   one is applied). The `ETag` header on answers is Express's weak hash of the body, and Express
//   answers a GET whose If-None-Match equals it with 304.
// - Errors: `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "409",
//   "scimType": "uniqueness", "detail": "..."}`, status a string; 401 (wrong token), 404
//   (unknown id), 400 (bad JSON) in the same shape. /Me answers 501.
// - Uniqueness: SCIMMY declares userName `uniqueness: "server"` but leaves enforcing it to the
//   ingress handler. This glue does it, the one behaviour it adds: each attribute the library
//   declares unique ("server" or "global") is compared with the other resources'
//   (case-insensitively unless declared caseExact) and a clash is SCIMMY's own
//   `SCIMError(409, "uniqueness")`.
// - meta: resourceType and location come from the library; created and lastModified are set
//   here, by the data store, as SCIMMY leaves them to it. Ids are random UUIDs.
// - Groups are served as well, by the same in-memory handlers.

"use strict";

const http = require("node:http");
const crypto = require("node:crypto");
const express = require("express");
const { SCIMMYRouters, SCIMMY } = require("scimmy-routers");

const USAGE = `usage: server.js --token TOKEN [--host HOST] [--port PORT]

An in-memory SCIM 2.0 server on SCIMMY (Users with the enterprise extension, Groups).
  --token TOKEN  the bearer token every request must carry (required)
  --host HOST    the address to listen on (default 127.0.0.1)
  --port PORT    the port to listen on; 0 picks a free one (default 0)
Prints "SCIMMY server on http://HOST:PORT/scim/v2" once it listens; exits on SIGTERM, SIGINT
or when standard input closes.`;

function parseArgs(argv) {
  const options = { host: "127.0.0.1", port: 0, token: undefined };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === "--help" || flag === "-h") return { help: true };
    const name = { "--token": "token", "--host": "host", "--port": "port" }[flag];
    if (!name || i + 1 >= argv.length) throw new Error(`unknown or incomplete argument: ${flag}`);
    options[name] = argv[++i];
  }
  if (!options.token) throw new Error("--token is required");
  options.port = Number(options.port);
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    throw new Error(`--port must be a port number, not ${options.port}`);
  }
  return options;
}

// Attributes the library declares unique among resources of one type.
function uniqueAttributes(Resource) {
  return Resource.schema.definition.attributes.filter(
    (a) => a instanceof SCIMMY.Types.Attribute && !a.config.shadow
      && ["server", "global"].includes(a.config.uniqueness),
  );
}

// Ingress/egress/degress handlers keeping one resource type in a Map.
function declareInMemory(Resource) {
  const store = new Map();
  const unique = uniqueAttributes(Resource);
  const same = (attribute, a, b) => typeof a === "string" && typeof b === "string"
    && (attribute.config.caseExact ? a === b : a.toLowerCase() === b.toLowerCase());
  SCIMMY.Resources.declare(Resource)
    .ingress((resource, instance) => {
      if (resource.id && !store.has(resource.id)) {
        throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
      }
      const data = JSON.parse(JSON.stringify(instance));
      for (const attribute of unique) {
        const clash = [...store.values()].find((other) => other.id !== resource.id
          && same(attribute, other[attribute.name], data[attribute.name]));
        if (clash) {
          throw new SCIMMY.Types.Error(409, "uniqueness",
            `${attribute.name} '${data[attribute.name]}' is already in use`);
        }
      }
      const now = new Date().toISOString();
      const id = resource.id ?? crypto.randomUUID();
      const created = store.get(id)?.meta?.created ?? now;
      const stored = { ...data, id, meta: { created, lastModified: now } };
      store.set(id, stored);
      return stored;
    })
    .egress((resource) => {
      const all = [...store.values()];
      const found = resource.filter ? resource.filter.match(all) : all;
      if (resource.id && !found.length) {
        throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
      }
      return found;
    })
    .degress((resource) => {
      if (!store.delete(resource.id)) {
        throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
      }
    });
}

function main() {
  let options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`server.js: ${error.message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }

  SCIMMY.Resources.User.extend(SCIMMY.Schemas.EnterpriseUser);
  declareInMemory(SCIMMY.Resources.User);
  declareInMemory(SCIMMY.Resources.Group);

  const expected = `Bearer ${options.token}`;
  const app = express();
  app.use("/scim/v2", new SCIMMYRouters({
    type: "bearer",
    handler: (request) => {
      if (request.header("authorization") !== expected) throw new Error("Invalid bearer token");
      return undefined;
    },
    baseUri: (request) => `${request.protocol}://${request.get("host")}`,
  }));

  const server = http.createServer(app);
  const stop = () => {
    server.close();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  // A parent that dies closes this pipe: the server never outlives the test that started it.
  process.stdin.on("end", stop);
  process.stdin.on("close", stop);
  process.stdin.resume();

  server.listen(options.port, options.host, () => {
    const { port } = server.address();
    const host = options.host.includes(":") ? `[${options.host}]` : options.host;
    process.stdout.write(`SCIMMY server on http://${host}:${port}/scim/v2\n`);
  });
}

main();
