/** mldb's own version, from package.json (read once; dist/ and src/ sit at the same depth). */
export const MLDB_VERSION: string = require('../package.json').version;
