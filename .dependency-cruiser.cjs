// `npm run lint` fails on an import cycle in chaosctl. swc parses the TypeScript: TypeScript 7 has
// no JavaScript API for dependency-cruiser to use.
module.exports = {
  forbidden: [{ name: 'no-circular', severity: 'error', from: {}, to: { circular: true } }],
  options: {
    parser: 'swc',
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.test\\.ts$' },
  },
};
