// gen.mjs writes the expected outputs that graph_test.go compares Glint's
// graph executor against. It runs each model of models/human through
// TensorFlow.js itself (pure-JS cpu backend), fed the same synthetic input
// the Go test builds, and stores a compact summary per output: shape, sum,
// sum of absolute values, sum of squares, the first 32 values and 32
// values spread evenly over the whole tensor (index ⌊i·len/32⌋).
//
// TensorFlow.js is not a dependency of Glint, so install it in a scratch
// folder outside the repository and run the script from there (it resolves
// the package from the current directory):
//
//	mkdir -p /tmp/tfjsref && cd /tmp/tfjsref && npm install @tensorflow/tfjs@4.22.0
//	node /path/to/glint/internal/nn/tfjs/testdata/gen.mjs \
//	    /path/to/glint/models/human /path/to/glint/internal/nn/tfjs/testdata [model ...]
//
// tfjs-node is deliberately not used: it downloads a native libtensorflow.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

const require = createRequire(path.join(process.cwd(), 'noop.js'));
const tf = require('@tensorflow/tfjs');

const models = [
	'antispoof', 'blazeface', 'blazeface-back', 'blazeface-front', 'facemesh',
	'faceres', 'faceres-deep', 'iris', 'liveness', 'mobileface', 'mobilefacenet',
];
const headLen = 32;

// fileHandler reads model.json and its shards from disk, as the browser's
// fetch-based loader would over HTTP.
function fileHandler(file) {
	return {
		async load() {
			const json = JSON.parse(fs.readFileSync(file, 'utf8'));
			const specs = [];
			const bufs = [];
			for (const group of json.weightsManifest) {
				specs.push(...group.weights);
				for (const p of group.paths) bufs.push(fs.readFileSync(path.join(path.dirname(file), p)));
			}
			const all = Buffer.concat(bufs);
			return {
				modelTopology: json.modelTopology,
				format: json.format,
				generatedBy: json.generatedBy,
				convertedBy: json.convertedBy,
				signature: json.signature,
				userDefinedMetadata: json.userDefinedMetadata,
				weightSpecs: specs,
				weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
			};
		},
	};
}

// synthetic is the input graph_test.go builds: value at (n, y, x, c) is
// sin(0.1·y + 0.2·x + c)·0.5 + 0.5, rounded to float32.
function synthetic(shape) {
	const [n, h, w, c] = shape;
	const v = new Float32Array(n * h * w * c);
	let i = 0;
	for (let b = 0; b < n; b++)
		for (let y = 0; y < h; y++)
			for (let x = 0; x < w; x++)
				for (let k = 0; k < c; k++) v[i++] = Math.sin(0.1 * y + 0.2 * x + k) * 0.5 + 0.5;
	return tf.tensor(v, shape, 'float32');
}

async function run(dir, out, name) {
	const model = await tf.loadGraphModel(fileHandler(path.join(dir, name + '.json')));
	const feed = {};
	const inputs = {};
	for (const info of model.inputs) {
		const shape = info.shape.map((d) => (d == null || d < 0 ? 1 : d));
		feed[info.name] = synthetic(shape);
		inputs[info.name] = shape;
	}
	const names = model.outputs.map((o) => o.name);
	let res = model.execute(feed, names);
	if (!Array.isArray(res)) res = [res];
	const outputs = [];
	for (let i = 0; i < names.length; i++) {
		const d = res[i].dataSync();
		let sum = 0, sumAbs = 0, sumSq = 0;
		for (const v of d) {
			sum += v;
			sumAbs += Math.abs(v);
			sumSq += v * v;
		}
		const spread = [];
		for (let k = 0; k < headLen && d.length > 0; k++) spread.push(d[Math.floor((k * d.length) / headLen)]);
		outputs.push({ name: names[i], shape: res[i].shape, sum, sumAbs, sumSq, head: Array.from(d.slice(0, headLen)), spread });
	}
	// One output per line keeps the files small yet diffable.
	const head = { model: name, tfjs: tf.version.tfjs, backend: tf.getBackend(), inputs };
	const text = JSON.stringify(head).slice(0, -1) + ',"outputs":[\n' + outputs.map((o) => JSON.stringify(o)).join(',\n') + '\n]}\n';
	fs.writeFileSync(path.join(out, name + '.expected.json'), text);
	console.log(name, names.join(' '));
}

const [dir, out, ...only] = process.argv.slice(2);
if (!dir || !out) {
	console.error('usage: node gen.mjs MODELS_DIR OUT_DIR [model ...]');
	process.exit(2);
}
await tf.setBackend('cpu');
for (const name of only.length ? only : models) await run(dir, out, name);
