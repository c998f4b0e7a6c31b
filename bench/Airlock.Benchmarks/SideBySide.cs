using System.Diagnostics;
using System.Globalization;
using System.Text;
using Airlock.Inspection;

namespace Airlock.Benchmarks;

/// <summary>
/// The corpus for the secretlint side-by-side run (<c>bench/secretlint/run.sh</c>): the generated code corpus as
/// files, plus FAKE tokens of formats both tools know planted on their own lines, listed in <c>planted.tsv</c>
/// (file, line, kind). Tokens are synthesized here (random, format-valid, checksums computed); none is real.
/// </summary>
internal static class SideBySide
{
    private const string Base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    public static int WriteCorpus(string dir)
    {
        var random = new Random(424242);
        var files = CodeCorpus.Files(1024 * 1024);
        var planted = new StringBuilder("file\tline\tkind\n");
        var plants = Plants(random);
        for (var i = 0; i < files.Count; i++)
        {
            var file = files[i];
            var text = file.Text;
            if (i % 6 == 0 && i / 6 < plants.Count)
            {
                var (kind, line) = plants[i / 6];
                var lineNumber = text.Count(c => c == '\n') + 1;
                text += line + "\n";
                planted.Append(file.Path).Append('\t').Append(lineNumber.ToString(CultureInfo.InvariantCulture)).Append('\t').Append(kind).Append('\n');
            }

            var full = Path.Combine(dir, file.Path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllText(full, text);
        }

        File.WriteAllText(Path.Combine(dir, "..", "planted.tsv"), planted.ToString());
        Console.WriteLine($"{files.Count} files, {plants.Count} planted fake tokens");
        return 0;
    }

    /// <summary>Scans every file under <paramref name="dir"/> with the default scanner (secrets + PII); prints
    /// <c>file TAB line TAB rule</c> per finding and the timing on stderr.</summary>
    public static int Scan(string dir)
    {
        var sw = Stopwatch.StartNew();
        var scanner = new SecretScanner(RulePack.LoadBuiltIn());
        var setup = sw.Elapsed;
        var paths = Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
        var results = new List<TextMatch>();
        long bytes = 0;
        var output = new StringBuilder();
        var scanWatch = Stopwatch.StartNew();
        foreach (var path in paths)
        {
            var text = File.ReadAllText(path);
            bytes += Encoding.UTF8.GetByteCount(text);
            results.Clear();
            scanner.Scan(text, Path.GetRelativePath(dir, path), results);
            foreach (var match in results)
            {
                var line = 1 + text.AsSpan(0, match.Start).Count('\n');
                output.Append(Path.GetRelativePath(dir, path)).Append('\t').Append(line.ToString(CultureInfo.InvariantCulture)).Append('\t').Append(match.RuleId).Append('\n');
            }
        }

        var scan = scanWatch.Elapsed;
        Console.Write(output);
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"airlock: {paths.Count} files, {bytes} bytes, load {setup.TotalMilliseconds:F0} ms, scan {scan.TotalMilliseconds:F1} ms ({bytes / scan.TotalSeconds / 1e6:F1} MB/s), total {sw.Elapsed.TotalMilliseconds:F0} ms"));
        return 0;
    }

    // CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), bit by bit: the checksum GitHub and npm tokens end with.
    private static uint Crc32(byte[] data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
            }
        }

        return ~crc;
    }

    private static List<(string Kind, string Line)> Plants(Random r)
    {
        string Rand(string alphabet, int n) => new(Enumerable.Range(0, n).Select(_ => alphabet[r.Next(alphabet.Length)]).ToArray());
        var upper32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        var b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        string Checksummed(string prefix)
        {
            var payload = Rand(Base62, 30);
            var crc = Crc32(Encoding.ASCII.GetBytes(payload));
            var sb = new StringBuilder();
            do
            {
                sb.Insert(0, Base62[(int)(crc % 62)]);
                crc /= 62;
            }
            while (crc > 0);
            return prefix + payload + sb.ToString().PadLeft(6, '0');
        }

        var pem = "-----BEGIN RSA PRIVATE KEY-----\\n" + string.Join("\\n", Enumerable.Range(0, 12).Select(_ => Rand(b64, 64))) + "\\n-----END RSA PRIVATE KEY-----";
        return
        [
            ("aws-access-key-id", "aws_access_key_id = AKIA" + Rand(upper32, 16)),
            ("aws-secret-access-key", "aws_secret_access_key = \"" + Rand(b64, 40) + "\""),
            ("github-pat", "GITHUB_TOKEN=" + Checksummed("ghp_")),
            ("github-oauth", "const oauth = \"" + Checksummed("gho_") + "\";"),
            ("slack-bot-token", "SLACK_BOT_TOKEN=xoxb-" + Rand("0123456789", 12) + "-" + Rand("0123456789", 13) + "-" + Rand(Base62, 24)),
            ("slack-webhook", "webhook: https://hooks.slack.com/services/T" + Rand(upper32, 8) + "/B" + Rand(upper32, 10) + "/" + Rand(Base62, 24)),
            ("npm-token", "//registry.npmjs.org/:_authToken=" + Checksummed("npm_")),
            ("private-key", "PRIVATE_KEY=\"" + pem + "\""),
            ("stripe-live-secret", "stripe.api_key = \"sk_live_" + Rand(Base62, 24) + "\""),
            ("sendgrid", "SENDGRID_API_KEY=SG." + Rand(Base62 + "-_", 22) + "." + Rand(Base62 + "-_", 43)),
            ("basic-auth-url", "DATABASE_URL=postgres://app:" + Rand(Base62, 16) + "@db.internal.contoso.dev:5432/app"),
            ("anthropic-api-key", "ANTHROPIC_API_KEY=sk-ant-api03-" + Rand(Base62 + "-_", 93) + "AA"),
            ("openai-api-key", "OPENAI_API_KEY=sk-proj-" + Rand(Base62, 40) + "T3BlbkFJ" + Rand(Base62, 40)),
            ("gcp-api-key", "GOOGLE_API_KEY=AIza" + Rand(Base62 + "-_", 35)),
            ("shopify-token", "SHOPIFY_TOKEN=shpat_" + Rand("0123456789abcdef", 32)),
            ("generic-password", "password = \"" + Rand(Base62 + "!#%", 20) + "\""),
        ];
    }
}
