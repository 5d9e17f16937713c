import { readFileSync, writeFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { connect } from '../../db/connection.ts';
import { exportKey, importKey, listKeys, rotateKey, type KeyUnwrap, type KeyWrap } from '../../db/keys.ts';
import { PgmaskError, ExitCode, usageError } from '../../errors.ts';
import { createOutput } from '../output.ts';
import { databaseUrlOption, jsonOption, requireDatabaseUrl } from '../options.ts';

/** A secret from a file (first line, without its newline): never from the command line, where it would reach the shell history. */
function readSecretFile(path: string, what: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new PgmaskError({ code: 'SECRET_FILE_UNREADABLE', message: `cannot read the ${what} file ${path}`, hint: `pass a readable file with the ${what}`, exitCode: ExitCode.usage, cause });
  }
  return text;
}

function passphraseFrom(path: string): string {
  const p = readSecretFile(path, 'passphrase').split(/\r?\n/)[0] ?? '';
  if (p.length < 8) throw usageError('PASSPHRASE_TOO_SHORT', `the passphrase in ${path} is shorter than 8 characters`, 'use a long random passphrase, shared with the other site out of band');
  return p;
}

async function withClient<T>(url: string, fn: (client: Awaited<ReturnType<typeof connect>>) => Promise<T>): Promise<T> {
  const client = await connect(url);
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export function keysCommand(): Command {
  const keys = new Command('keys').description('list, rotate, export and import the keys of pgmask_private.keys (the key bytes never leave the database unwrapped)');

  keys
    .command('list')
    .description('every key and version: created, fingerprint (equal at two sites that hold the same key; reveals nothing of it), which version views use')
    .addOption(databaseUrlOption())
    .addOption(jsonOption())
    .action(async (opts: { databaseUrl?: string; json?: boolean }) => {
      const out = createOutput(Boolean(opts.json));
      const rows = await withClient(requireDatabaseUrl(opts.databaseUrl), listKeys);
      if (out.json) return out.out(JSON.stringify({ ok: true, keys: rows }, null, 2));
      if (rows.length === 0) return out.out('no keys (pgmask migrate creates the keys a policy names)');
      out.out(['name\tversion\tcreated\tfingerprint\tcurrent', ...rows.map((k) => `${k.name}\t${k.version}\t${k.createdAt}\t${k.fingerprint}\t${k.current ? 'yes' : ''}`)].join('\n'));
    });

  keys
    .command('rotate')
    .description('add a new version of a key; views switch to it on the next pgmask migrate, older versions stay for reveal')
    .argument('<name>', 'key name')
    .addOption(databaseUrlOption())
    .addOption(jsonOption())
    .action(async (name: string, opts: { databaseUrl?: string; json?: boolean }) => {
      const out = createOutput(Boolean(opts.json));
      const k = await withClient(requireDatabaseUrl(opts.databaseUrl), (c) => rotateKey(c, name));
      if (out.json) return out.out(JSON.stringify({ ok: true, key: k }, null, 2));
      out.out(`key ${k.name} is now at version ${k.version} (fingerprint ${k.fingerprint}); run pgmask migrate to switch the masked views to it`);
    });

  keys
    .command('export')
    .description('write every version of a key, wrapped with OpenPGP inside the database (a passphrase, or the receiving site\'s public key)')
    .argument('<name>', 'key name')
    .addOption(new Option('-o, --out <file>', 'the armored file to write').makeOptionMandatory())
    .addOption(new Option('--passphrase-file <file>', 'file whose first line is the passphrase (pgp_sym_encrypt)').conflicts('recipientKey'))
    .addOption(new Option('--recipient-key <file>', "the receiving site's ASCII-armored OpenPGP public key (pgp_pub_encrypt)"))
    .addOption(databaseUrlOption())
    .addOption(jsonOption())
    .action(async (name: string, opts: { out: string; passphraseFile?: string; recipientKey?: string; databaseUrl?: string; json?: boolean }) => {
      const out = createOutput(Boolean(opts.json));
      if (!opts.passphraseFile && !opts.recipientKey) throw usageError('KEY_EXPORT_NO_WRAP', 'say how to wrap the key', 'pass --passphrase-file FILE or --recipient-key PUBKEY_FILE');
      const wrap: KeyWrap = opts.passphraseFile ? { passphrase: passphraseFrom(opts.passphraseFile) } : { publicKey: readSecretFile(opts.recipientKey!, 'public key') };
      const armored = await withClient(requireDatabaseUrl(opts.databaseUrl), (c) => exportKey(c, name, wrap));
      writeFileSync(opts.out, armored, { mode: 0o600 });
      if (out.json) return out.out(JSON.stringify({ ok: true, key: name, file: opts.out }, null, 2));
      out.out(`wrote key ${name} (every version, OpenPGP-encrypted) to ${opts.out}`);
    });

  keys
    .command('import')
    .description('add the versions of an exported key; a wrong passphrase, a changed file or a clashing local key changes nothing')
    .argument('<file>', 'a file written by pgmask keys export')
    .addOption(new Option('--passphrase-file <file>', 'file whose first line is the passphrase').conflicts('secretKey'))
    .addOption(new Option('--secret-key <file>', "this site's ASCII-armored OpenPGP secret key"))
    .option('--secret-key-passphrase-file <file>', 'file with the passphrase of the secret key, when it has one')
    .option('--replace', "replace this database's own versions of the key (its pseudonyms and tokens change at the next migrate)")
    .addOption(databaseUrlOption())
    .addOption(jsonOption())
    .action(async (file: string, opts: { passphraseFile?: string; secretKey?: string; secretKeyPassphraseFile?: string; replace?: boolean; databaseUrl?: string; json?: boolean }) => {
      const out = createOutput(Boolean(opts.json));
      if (!opts.passphraseFile && !opts.secretKey) throw usageError('KEY_IMPORT_NO_UNWRAP', 'say how to unwrap the key', 'pass --passphrase-file FILE or --secret-key SECRET_KEY_FILE');
      const armored = readSecretFile(file, 'key');
      const unwrap: KeyUnwrap = opts.passphraseFile
        ? { passphrase: passphraseFrom(opts.passphraseFile) }
        : { secretKey: readSecretFile(opts.secretKey!, 'secret key'), secretKeyPassphrase: opts.secretKeyPassphraseFile ? readSecretFile(opts.secretKeyPassphraseFile, 'passphrase').split(/\r?\n/)[0] : undefined };
      const r = await withClient(requireDatabaseUrl(opts.databaseUrl), (c) => importKey(c, armored, unwrap, { replace: opts.replace }));
      if (out.json) return out.out(JSON.stringify({ ok: true, ...r }, null, 2));
      out.out(`key ${r.name}: imported version(s) ${r.imported.join(', ') || 'none'}${r.unchanged.length ? `; already here: ${r.unchanged.join(', ')}` : ''}; run pgmask migrate to use it`);
    });

  return keys;
}
