using System.IO.Hashing;
using System.Text;
using System.Text.Json;
using Airlock.ClaudeCode.SecretFiles;

namespace Airlock.ClaudeCode.Hooks;

/// <summary>
/// What the hook enforces, as the gateway serves it (<c>GET /airlock/v1/claude-code/policy</c>) and as the
/// hook caches it on disk. Written and read with <see cref="Utf8JsonWriter"/>/<see cref="JsonDocument"/>
/// (no reflection: the hook is NativeAOT).
/// </summary>
public sealed class HookPolicy
{
    /// <summary>Largest file the hook scans by default (a Read of a larger file scans its first bytes only).</summary>
    public const long DefaultMaxScanBytes = 8L * 1024 * 1024;

    /// <summary>Secret-bearing file patterns (built-in list plus the organization's additions).</summary>
    public required IReadOnlyList<string> DenyFiles { get; init; }

    /// <summary>Version of the secret rules the gateway inspects with (the hook reports it next to its own).</summary>
    public string RulesVersion { get; init; } = "";

    /// <summary>When the hook cannot decide (unreadable input, scanner failure), deny (true) or let the call through (false).</summary>
    public bool FailClosed { get; init; } = true;

    /// <summary>How many bytes of a file the hook scans at most.</summary>
    public long MaxScanBytes { get; init; } = DefaultMaxScanBytes;

    /// <summary>Largest total size of <see cref="RulePacks"/> a policy may carry (a policy is read on every hook call).</summary>
    public const int MaxRulePackChars = 1024 * 1024;

    /// <summary>
    /// The organization's own rule packs (gitleaks TOML, as the gateway loads them), merged over the built-in pack by
    /// the hook, so an internal token format the gateway redacts is also stopped before a Read puts it in the conversation.
    /// </summary>
    public IReadOnlyList<HookRulePack> RulePacks { get; init; } = [];

    /// <summary>Content hash of everything above: the hook and the trail name the policy by it.</summary>
    public string Version => _version ??= ComputeVersion();

    private string? _version;

    /// <summary>The policy a hook uses before it ever reached a gateway: the built-in list, fail closed.</summary>
    public static HookPolicy BuiltIn { get; } = new() { DenyFiles = SecretFileList.BuiltInPatterns, RulesVersion = "" };

    /// <summary>The deny list as a matcher.</summary>
    public SecretFileList Files => _files ??= new SecretFileList(DenyFiles);

    private SecretFileList? _files;

    /// <summary>Serializes the policy (plus optional metadata such as when it was fetched).</summary>
    public byte[] ToJson(DateTimeOffset? fetchedAt = null)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("version", Version);
            writer.WriteString("rules_version", RulesVersion);
            writer.WriteBoolean("fail_closed", FailClosed);
            writer.WriteNumber("max_scan_bytes", MaxScanBytes);
            writer.WriteStartArray("deny_files");
            foreach (var pattern in DenyFiles)
            {
                writer.WriteStringValue(pattern);
            }
            writer.WriteEndArray();
            writer.WriteStartArray("rule_packs");
            foreach (var pack in RulePacks)
            {
                writer.WriteStartObject();
                writer.WriteString("name", pack.Name);
                writer.WriteString("toml", pack.Toml);
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
            if (fetchedAt is { } at)
            {
                writer.WriteString("fetched_at", at);
            }
            writer.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <summary>Reads a policy; null when the JSON is not a usable policy (every pattern is validated).</summary>
    public static HookPolicy? TryParse(ReadOnlySpan<byte> json, out DateTimeOffset? fetchedAt)
    {
        fetchedAt = null;
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 8 });
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("deny_files", out var files) || files.ValueKind != JsonValueKind.Array)
            {
                return null;
            }
            var patterns = new List<string>();
            foreach (var item in files.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.String || SecretFileList.Validate(item.GetString()) is not null)
                {
                    return null;
                }
                patterns.Add(item.GetString()!.Trim());
            }
            var packs = new List<HookRulePack>();
            var packChars = 0;
            if (root.TryGetProperty("rule_packs", out var packArray))
            {
                if (packArray.ValueKind != JsonValueKind.Array)
                {
                    return null;
                }
                foreach (var item in packArray.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.Object
                        || !item.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String
                        || !item.TryGetProperty("toml", out var toml) || toml.ValueKind != JsonValueKind.String)
                    {
                        return null;
                    }
                    var pack = new HookRulePack(name.GetString()!, toml.GetString()!);
                    packChars += pack.Toml.Length;
                    if (packChars > MaxRulePackChars)
                    {
                        return null;
                    }
                    packs.Add(pack);
                }
            }
            if (root.TryGetProperty("fetched_at", out var at) && at.ValueKind == JsonValueKind.String && at.TryGetDateTimeOffset(out var when))
            {
                fetchedAt = when;
            }
            return new HookPolicy
            {
                DenyFiles = patterns,
                RulesVersion = root.TryGetProperty("rules_version", out var rules) && rules.ValueKind == JsonValueKind.String ? rules.GetString()! : "",
                FailClosed = !root.TryGetProperty("fail_closed", out var failClosed) || failClosed.ValueKind != JsonValueKind.False,
                MaxScanBytes = root.TryGetProperty("max_scan_bytes", out var max) && max.ValueKind == JsonValueKind.Number && max.TryGetInt64(out var bytes) && bytes > 0 ? bytes : DefaultMaxScanBytes,
                RulePacks = packs,
            };
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private string ComputeVersion()
    {
        var text = new StringBuilder();
        text.Append(RulesVersion).Append('\n').Append(FailClosed).Append('\n').Append(MaxScanBytes).Append('\n');
        foreach (var pattern in DenyFiles)
        {
            text.Append(pattern).Append('\n');
        }
        foreach (var pack in RulePacks)
        {
            text.Append(pack.Name).Append('\n').Append(pack.Toml).Append('\n');
        }
        // A fingerprint, not a security boundary (the policy arrives over the authenticated channel); XxHash128
        // because SHA-256 would load OpenSSL in the NativeAOT hook, several milliseconds per call.
        return "p-" + Convert.ToHexStringLower(XxHash128.Hash(Encoding.UTF8.GetBytes(text.ToString())))[..16];
    }
}

/// <summary>One organization rule pack as the policy carries it.</summary>
/// <param name="Name">Where it came from (file name), used in error messages.</param>
/// <param name="Toml">The pack's gitleaks TOML text.</param>
public sealed record HookRulePack(string Name, string Toml);
