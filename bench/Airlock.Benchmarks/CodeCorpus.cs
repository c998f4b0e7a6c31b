using System.Globalization;
using System.Text;

namespace Airlock.Benchmarks;

/// <summary>
/// A deterministic mix of ordinary source files (C#, TypeScript, Python, YAML, JSON, npm lockfiles, Markdown)
/// of about the size asked for. The text is dense in the words secret rules key on (<c>key</c>, <c>token</c>,
/// <c>secret</c>, <c>password</c>, <c>auth</c>) the way real code is, and holds the usual look-alikes (git SHAs,
/// UUIDs, integrity hashes, version numbers), but no secret: it measures the cost of inspecting clean code.
/// </summary>
public static class CodeCorpus
{
    private static readonly string[] s_nouns =
    [
        "user", "order", "invoice", "session", "account", "payment", "customer", "tenant", "report", "message",
        "document", "project", "widget", "cache", "queue", "event", "policy", "token", "secret", "key", "config",
        "request", "response", "handler", "client", "service", "record", "audit", "profile", "credential",
    ];

    private static readonly string[] s_verbs =
    [
        "get", "load", "save", "build", "parse", "resolve", "create", "update", "delete", "validate", "refresh",
        "rotate", "fetch", "apply", "render", "compute", "format", "read", "write", "find",
    ];

    private static readonly string[] s_words =
    [
        "the", "value", "is", "read", "from", "configuration", "at", "startup", "and", "never", "logged", "we",
        "keep", "secret", "key", "material", "in", "vault", "token", "expires", "after", "one", "hour", "password",
        "policy", "requires", "rotation", "every", "request", "carries", "an", "auth", "header", "when", "cache",
        "misses", "retry", "with", "backoff", "this", "module", "handles", "api", "errors", "gracefully",
    ];

    /// <summary>One generated file: a relative path and its text.</summary>
    public sealed record CorpusFile(string Path, string Text);

    /// <summary>Files totalling about <paramref name="targetChars"/> characters.</summary>
    public static IReadOnlyList<CorpusFile> Files(int targetChars, int seed = 20261124)
    {
        var random = new Random(seed);
        var files = new List<CorpusFile>();
        var total = 0;
        var index = 0;
        while (total < targetChars)
        {
            var kind = index % 10;
            var file = kind switch
            {
                0 or 1 or 2 => new CorpusFile($"src/Service{index}/{Pascal(random)}Service.cs", CSharp(random)),
                3 or 4 => new CorpusFile($"web/src/{Camel(random)}{index}.ts", TypeScript(random)),
                5 => new CorpusFile($"tools/{Snake(random)}_{index}.py", Python(random)),
                6 => new CorpusFile($"deploy/{Snake(random)}-{index}.yaml", Yaml(random)),
                7 => new CorpusFile($"config/{Camel(random)}{index}.json", Json(random)),
                8 => new CorpusFile($"web/package-lock-{index}.json", Lockfile(random)),
                _ => new CorpusFile($"docs/{Snake(random)}-{index}.md", Markdown(random)),
            };
            files.Add(file);
            total += file.Text.Length;
            index++;
        }

        return files;
    }

    /// <summary>All files joined, each preceded by a path header, as one string.</summary>
    public static string Text(int targetChars, int seed = 20261124)
    {
        var sb = new StringBuilder(targetChars + 16_384);
        foreach (var file in Files(targetChars, seed))
        {
            sb.Append("// file: ").Append(file.Path).Append('\n').Append(file.Text).Append('\n');
        }

        return sb.ToString();
    }

    private static string CSharp(Random r)
    {
        var sb = new StringBuilder();
        var type = Pascal(r) + "Service";
        sb.Append("using System;\nusing System.Collections.Generic;\nusing System.Threading;\nusing System.Threading.Tasks;\nusing Microsoft.Extensions.Logging;\n\n");
        sb.Append("namespace Contoso.").Append(Pascal(r)).Append(";\n\n");
        sb.Append("/// <summary>").Append(Sentence(r, 12)).Append("</summary>\n");
        sb.Append("public sealed class ").Append(type).Append(" : I").Append(type).Append("\n{\n");
        sb.Append("    private readonly ILogger<").Append(type).Append("> _logger;\n");
        sb.Append("    private readonly ITokenProvider _tokenProvider;\n    private readonly ISecretStore _secretStore;\n");
        sb.Append("    private const string ApiKeyHeaderName = \"X-Api-Key\";\n");
        sb.Append("    private const string SecretName = \"").Append(Snake(r)).Append("-signing-key\";\n\n");
        var methods = 6 + r.Next(6);
        for (var m = 0; m < methods; m++)
        {
            var name = Pascal(r);
            sb.Append("    /// <summary>").Append(Sentence(r, 10)).Append("</summary>\n");
            sb.Append("    public async Task<").Append(Pascal(r)).Append("Result> ").Append(name).Append("Async(string ").Append(Camel(r)).Append("Id, CancellationToken cancellationToken)\n    {\n");
            sb.Append("        var token = await _tokenProvider.GetAccessTokenAsync(cancellationToken).ConfigureAwait(false);\n");
            sb.Append("        var apiKey = _secretStore.GetSecret(SecretName);\n");
            sb.Append("        if (string.IsNullOrEmpty(token))\n        {\n            throw new InvalidOperationException(\"").Append(Sentence(r, 6)).Append("\");\n        }\n\n");
            var lines = 3 + r.Next(8);
            for (var l = 0; l < lines; l++)
            {
                sb.Append("        ").Append(CSharpStatement(r)).Append('\n');
            }

            sb.Append("        _logger.LogInformation(\"").Append(Pascal(r)).Append(" {Id} took {Elapsed} ms\", ").Append(Camel(r)).Append("Id, ").Append(r.Next(1000)).Append(");\n");
            sb.Append("        return new ").Append(Pascal(r)).Append("Result(").Append(Camel(r)).Append(", passwordPolicy: PasswordPolicy.Default, refreshToken: null);\n    }\n\n");
        }

        sb.Append("}\n");
        return sb.ToString();
    }

    private static string CSharpStatement(Random r) => r.Next(9) switch
    {
        0 => $"var {Camel(r)} = await _{Camel(r)}Repository.{Pascal(r)}Async({Camel(r)}Id, cancellationToken).ConfigureAwait(false);",
        1 => $"if ({Camel(r)}.Count > {r.Next(100)} && !{Camel(r)}.IsExpired) {{ return {Pascal(r)}Result.Empty; }}",
        2 => $"request.Headers.Authorization = new AuthenticationHeaderValue(\"Bearer\", token);",
        3 => $"var keyId = options.SigningKeyId ?? \"{Snake(r)}-{r.Next(10)}\"; // rotated by the {Camel(r)} job",
        4 => $"foreach (var {Camel(r)} in {Camel(r)}s.Where(x => x.{Pascal(r)}Id == {Camel(r)}Id)) {{ total += {Camel(r)}.Amount; }}",
        5 => $"_logger.LogDebug(\"cache miss for {{Key}} ({Sentence(r, 4)})\", cacheKey);",
        6 => $"var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes({Camel(r)}))); // {Hex(r, 40)}",
        7 => $"options.ClientSecret = configuration[\"Auth:{Pascal(r)}:ClientSecret\"];",
        _ => $"var id = Guid.Parse(\"{Uuid(r)}\");",
    };

    private static string TypeScript(Random r)
    {
        var sb = new StringBuilder();
        sb.Append("import { ").Append(Pascal(r)).Append(", ").Append(Pascal(r)).Append(" } from '../").Append(Camel(r)).Append("';\n");
        sb.Append("import type { AuthToken, SessionKey } from './auth';\n\n");
        sb.Append("const API_BASE = process.env.API_BASE_URL ?? 'https://api.internal.contoso.dev/v2';\n");
        sb.Append("const tokenStorageKey = 'contoso.").Append(Camel(r)).Append(".token';\n\n");
        var fns = 5 + r.Next(6);
        for (var f = 0; f < fns; f++)
        {
            var name = Camel(r);
            sb.Append("/** ").Append(Sentence(r, 10)).Append(" */\n");
            sb.Append("export async function ").Append(name).Append('(').Append(Camel(r)).Append("Id: string, opts?: { signal?: AbortSignal }): Promise<").Append(Pascal(r)).Append("> {\n");
            sb.Append("  const token = localStorage.getItem(tokenStorageKey);\n");
            sb.Append("  const res = await fetch(`${API_BASE}/").Append(Camel(r)).Append("/${").Append(Camel(r)).Append("Id}`, {\n");
            sb.Append("    headers: { Authorization: `Bearer ${token}`, 'x-api-key': config.apiKey },\n    signal: opts?.signal,\n  });\n");
            var lines = 2 + r.Next(6);
            for (var l = 0; l < lines; l++)
            {
                sb.Append("  ").Append(r.Next(5) switch
                {
                    0 => $"const {Camel(r)} = (await res.json()) as {Pascal(r)};",
                    1 => $"if (!res.ok) throw new Error(`{Sentence(r, 4)}: ${{res.status}}`);",
                    2 => $"const secretKey = useSecret('{Snake(r)}'); // resolved at runtime",
                    3 => $"const {Camel(r)}s = items.filter((x) => x.{Camel(r)} > {r.Next(50)}).map((x) => x.id);",
                    _ => $"console.debug('[{Camel(r)}] refreshed token for', {Camel(r)}Id, '{Hex(r, 12)}');",
                }).Append('\n');
            }

            sb.Append("  return ").Append(Camel(r)).Append(";\n}\n\n");
        }

        return sb.ToString();
    }

    private static string Python(Random r)
    {
        var sb = new StringBuilder();
        sb.Append("import os\nimport logging\nfrom dataclasses import dataclass\n\nlog = logging.getLogger(__name__)\n\n");
        sb.Append("API_KEY = os.environ[\"").Append(Snake(r).ToUpperInvariant()).Append("_API_KEY\"]\n");
        sb.Append("SECRET_PATH = \"/var/run/secrets/").Append(Snake(r)).Append("/token\"\n\n");
        var fns = 5 + r.Next(5);
        for (var f = 0; f < fns; f++)
        {
            sb.Append("def ").Append(Snake(r)).Append('(').Append(Snake(r)).Append("_id: str, token: str | None = None) -> dict:\n");
            sb.Append("    \"\"\"").Append(Sentence(r, 12)).Append("\"\"\"\n");
            var lines = 3 + r.Next(6);
            for (var l = 0; l < lines; l++)
            {
                sb.Append("    ").Append(r.Next(5) switch
                {
                    0 => $"{Snake(r)} = client.{Snake(r)}({Snake(r)}_id, timeout={r.Next(60)})",
                    1 => $"if not token:\n        token = read_secret(SECRET_PATH)",
                    2 => $"log.info(\"{Sentence(r, 5)} %s\", {Snake(r)}_id)",
                    3 => $"headers = {{\"Authorization\": f\"Bearer {{token}}\", \"X-Request-Id\": \"{Uuid(r)}\"}}",
                    _ => $"password_hash = hashlib.sha256({Snake(r)}.encode()).hexdigest()  # {Hex(r, 40)}",
                }).Append('\n');
            }

            sb.Append("    return {\"").Append(Snake(r)).Append("\": ").Append(Snake(r)).Append("_id}\n\n\n");
        }

        return sb.ToString();
    }

    private static string Yaml(Random r)
    {
        var sb = new StringBuilder();
        var app = Snake(r).Replace('_', '-');
        sb.Append("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ").Append(app).Append("\n  labels:\n    app: ").Append(app).Append('\n');
        sb.Append("spec:\n  replicas: ").Append(1 + r.Next(5)).Append("\n  template:\n    spec:\n      containers:\n");
        var containers = 2 + r.Next(3);
        for (var c = 0; c < containers; c++)
        {
            sb.Append("        - name: ").Append(Snake(r).Replace('_', '-')).Append('\n');
            sb.Append("          image: registry.contoso.dev/").Append(app).Append(':').Append(r.Next(3)).Append('.').Append(r.Next(20)).Append('.').Append(r.Next(50)).Append('\n');
            sb.Append("          env:\n");
            var envs = 3 + r.Next(5);
            for (var e = 0; e < envs; e++)
            {
                var name = Snake(r).ToUpperInvariant() + (r.Next(3) == 0 ? "_TOKEN" : r.Next(2) == 0 ? "_SECRET_NAME" : "_URL");
                sb.Append("            - name: ").Append(name).Append('\n');
                sb.Append("              valueFrom:\n                secretKeyRef:\n                  name: ").Append(app).Append("-secrets\n                  key: ").Append(Snake(r)).Append('\n');
            }

            sb.Append("          resources:\n            limits:\n              cpu: \"").Append(r.Next(4) + 1).Append("\"\n              memory: ").Append(128 * (1 + r.Next(8))).Append("Mi\n");
        }

        return sb.ToString();
    }

    private static string Json(Random r)
    {
        var sb = new StringBuilder("{\n");
        sb.Append("  \"name\": \"").Append(Snake(r)).Append("\",\n  \"version\": \"").Append(r.Next(5)).Append('.').Append(r.Next(30)).Append('.').Append(r.Next(30)).Append("\",\n");
        sb.Append("  \"auth\": { \"tokenUrl\": \"https://login.contoso.dev/oauth2/token\", \"clientId\": \"").Append(Uuid(r)).Append("\", \"clientSecretRef\": \"vault:").Append(Snake(r)).Append("\" },\n");
        sb.Append("  \"features\": {\n");
        var n = 10 + r.Next(20);
        for (var i = 0; i < n; i++)
        {
            sb.Append("    \"").Append(Camel(r)).Append("\": { \"enabled\": ").Append(r.Next(2) == 0 ? "true" : "false").Append(", \"cacheKey\": \"").Append(Snake(r)).Append("\", \"ttl\": ").Append(r.Next(3600)).Append(" }");
            sb.Append(i + 1 < n ? ",\n" : "\n");
        }

        sb.Append("  }\n}\n");
        return sb.ToString();
    }

    private static string Lockfile(Random r)
    {
        var sb = new StringBuilder("{\n  \"name\": \"web\",\n  \"lockfileVersion\": 3,\n  \"packages\": {\n");
        var n = 20 + r.Next(20);
        for (var i = 0; i < n; i++)
        {
            var pkg = Snake(r).Replace('_', '-');
            var version = $"{r.Next(10)}.{r.Next(20)}.{r.Next(30)}";
            sb.Append("    \"node_modules/").Append(pkg).Append("\": {\n");
            sb.Append("      \"version\": \"").Append(version).Append("\",\n");
            sb.Append("      \"resolved\": \"https://registry.npmjs.org/").Append(pkg).Append("/-/").Append(pkg).Append('-').Append(version).Append(".tgz\",\n");
            sb.Append("      \"integrity\": \"sha512-").Append(Base64(r, 86)).Append("==\",\n");
            sb.Append("      \"dependencies\": { \"").Append(Snake(r).Replace('_', '-')).Append("\": \"^").Append(r.Next(5)).Append('.').Append(r.Next(10)).Append(".0\" }\n");
            sb.Append(i + 1 < n ? "    },\n" : "    }\n");
        }

        sb.Append("  }\n}\n");
        return sb.ToString();
    }

    private static string Markdown(Random r)
    {
        var sb = new StringBuilder("# ").Append(Pascal(r)).Append(' ').Append(Pascal(r)).Append("\n\n");
        var sections = 3 + r.Next(4);
        for (var s = 0; s < sections; s++)
        {
            sb.Append("## ").Append(Sentence(r, 3)).Append("\n\n");
            sb.Append(Sentence(r, 30)).Append(". ").Append(Sentence(r, 25)).Append(".\n\n");
            sb.Append("- set `").Append(Snake(r).ToUpperInvariant()).Append("_API_KEY` in your shell, never in the repository\n");
            sb.Append("- rotate the token with `contoso auth rotate --key-id ").Append(Snake(r)).Append("`\n");
            sb.Append("- see commit ").Append(Hex(r, 40)).Append(" for the migration\n\n");
            sb.Append("```bash\ncurl -H \"Authorization: Bearer $TOKEN\" https://api.contoso.dev/v2/").Append(Camel(r)).Append("\n```\n\n");
        }

        return sb.ToString();
    }

    private static string Sentence(Random r, int words)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < words; i++)
        {
            if (i > 0)
            {
                sb.Append(' ');
            }

            sb.Append(s_words[r.Next(s_words.Length)]);
        }

        return sb.ToString();
    }

    private static string Pascal(Random r)
    {
        var a = s_nouns[r.Next(s_nouns.Length)];
        var b = s_nouns[r.Next(s_nouns.Length)];
        return char.ToUpperInvariant(a[0]) + a[1..] + char.ToUpperInvariant(b[0]) + b[1..];
    }

    private static string Camel(Random r)
    {
        var verb = s_verbs[r.Next(s_verbs.Length)];
        var noun = s_nouns[r.Next(s_nouns.Length)];
        return verb + char.ToUpperInvariant(noun[0]) + noun[1..];
    }

    private static string Snake(Random r) => s_verbs[r.Next(s_verbs.Length)] + "_" + s_nouns[r.Next(s_nouns.Length)];

    private static string Hex(Random r, int length)
    {
        var chars = new char[length];
        for (var i = 0; i < length; i++)
        {
            chars[i] = "0123456789abcdef"[r.Next(16)];
        }

        return new string(chars);
    }

    private static string Base64(Random r, int length)
    {
        const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        var chars = new char[length];
        for (var i = 0; i < length; i++)
        {
            chars[i] = Alphabet[r.Next(64)];
        }

        return new string(chars);
    }

    private static string Uuid(Random r) => string.Create(CultureInfo.InvariantCulture, $"{Hex(r, 8)}-{Hex(r, 4)}-4{Hex(r, 3)}-a{Hex(r, 3)}-{Hex(r, 12)}");
}
