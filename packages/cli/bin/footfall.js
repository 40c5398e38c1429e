#!/usr/bin/env node
// The installed command: runs the compiled CLI (npm run build writes dist/). Kept outside dist so npm
// links the `footfall` command even before the first build.
import '../dist/main.js';
