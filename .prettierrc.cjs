// The plugins' formatting (create-plugin's scaffolded config) for the whole repository.
module.exports = require('./packages/app/.config/.prettierrc.js');
