// What other workspaces' tests use to run a real inventory-service in-process.
export { buildApp } from './app.js';
export { readConfig } from './config.js';
export { catalogue, migrations } from './migrations.js';
export { StockStore } from './stock.js';
