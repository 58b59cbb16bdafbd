// Layer rules from ../shared/STYLE.md, enforced in `npm test`.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    { name: "no-cycles", severity: "error", from: {}, to: { circular: true } },
    {
      name: "domain-is-pure",
      comment:
        "domain imports nothing of ours outside domain, and no node I/O modules; the only package is re2js (pure computation: linear-time regular expressions)",
      severity: "error",
      from: { path: "^src/domain/" },
      to: {
        pathNot: "^(src/domain/|node_modules/re2js/)",
        dependencyTypes: ["local", "npm", "core"],
      },
    },
    {
      name: "services-see-contract-only",
      severity: "error",
      from: { path: "^src/services/" },
      to: { path: "^src/(server|agent|sdk|cli|store/(sqlite|postgres))/" },
    },
    {
      name: "engines-see-domain-and-contract",
      severity: "error",
      from: { path: "^src/store/" },
      to: { path: "^src/(services|server|agent|sdk|cli|reference)/" },
    },
    {
      name: "edges-never-reach-store-or-services",
      severity: "error",
      from: { path: "^src/(agent|sdk|cli)/" },
      to: { path: "^src/(store|services|server)/", pathNot: "^src/server/main\\.ts$" },
    },
    {
      name: "server-uses-services-not-engines",
      severity: "error",
      from: { path: "^src/server/", pathNot: "^src/server/main\\.ts$" },
      to: { path: "^src/store/(sqlite|postgres)/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
  },
};
