using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Airlock.Core.Configuration;

/// <summary>
/// Loads <c>airlock.yaml</c>, applies <c>AIRLOCK_*</c> environment overrides, and validates the result.
/// Every problem is collected (path + reason) and reported at once through <see cref="ConfigurationException"/>.
/// </summary>
public static partial class ConfigLoader
{
    /// <summary>Prefix of environment variables that override file values (<c>AIRLOCK_LEVEL=2</c>, <c>AIRLOCK_UPSTREAMS__0__URL=…</c>).</summary>
    public const string EnvironmentPrefix = "AIRLOCK_";

    /// <summary>Reads and validates a configuration file.</summary>
    /// <exception cref="ConfigurationException">The file is missing, unreadable or invalid.</exception>
    public static AirlockConfig LoadFile(string path, IDictionary<string, string?>? environment = null)
    {
        var fullPath = Path.GetFullPath(path);
        if (!File.Exists(fullPath))
        {
            throw new ConfigurationException(path, ["file not found"]);
        }
        string text;
        try
        {
            text = File.ReadAllText(fullPath);
        }
        catch (IOException ex)
        {
            throw new ConfigurationException(path, [$"cannot read file: {ex.Message}"]);
        }
        return Parse(text, fullPath, Path.GetDirectoryName(fullPath)!, environment);
    }

    /// <summary>Validates YAML text. Relative <c>data_dir</c> values resolve against <paramref name="baseDirectory"/>.</summary>
    public static AirlockConfig Parse(string yaml, string source, string baseDirectory, IDictionary<string, string?>? environment = null)
    {
        var errors = new List<string>();
        var lines = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        var fileValues = YamlFlattener.Flatten(yaml, source, lines, errors);
        if (errors.Count > 0)
        {
            throw new ConfigurationException(source, errors);
        }
        var builder = new ConfigurationBuilder().AddInMemoryCollection(fileValues);
        if (environment is null)
        {
            builder.AddEnvironmentVariables(EnvironmentPrefix);
        }
        else
        {
            var prefixed = environment
                .Where(kv => kv.Key.StartsWith(EnvironmentPrefix, StringComparison.OrdinalIgnoreCase))
                .ToDictionary(kv => kv.Key[EnvironmentPrefix.Length..].Replace("__", ":", StringComparison.Ordinal), kv => kv.Value);
            builder.AddInMemoryCollection(prefixed);
        }
        var reader = new ConfigReader(builder.Build(), lines, errors);
        var config = Read(reader, source, baseDirectory);
        reader.ReportUnknownKeys(fileValues.Keys);
        if (config is not null)
        {
            // The level's rules over the finished configuration: every violation is listed with the other errors.
            Func<string, string?>? getEnvironment = environment is null ? null : name => environment.TryGetValue(name, out var value) ? value : null;
            errors.AddRange(Egress.EgressEvaluator.Violations(config, Egress.EgressEvaluator.Evaluate(config, getEnvironment)));
        }
        if (errors.Count > 0)
        {
            throw new ConfigurationException(source, errors);
        }
        return config!;
    }

    /// <summary>
    /// The configuration used by <c>airlock serve</c> when no file exists: one upstream chosen from the
    /// environment (<c>AIRLOCK_UPSTREAM_URL</c>, else <c>ANTHROPIC_API_KEY</c>, else the simulated model) and a catch-all route.
    /// </summary>
    /// <summary>The <see cref="AirlockConfig.Source"/> of the quickstart defaults.</summary>
    public const string QuickstartSource = "quickstart defaults (no airlock.yaml)";

    public static AirlockConfig CreateQuickstart(string dataDir, Func<string, string?> getEnvironment)
    {
        ArgumentNullException.ThrowIfNull(getEnvironment);
        UpstreamConfig upstream;
        // A vendor API key is a direct route to the vendor, which every level forbids: that quickstart declares none.
        var level = 1;
        var upstreamUrl = getEnvironment("AIRLOCK_UPSTREAM_URL");
        if (!string.IsNullOrWhiteSpace(upstreamUrl))
        {
            if (!Uri.TryCreate(upstreamUrl, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
            {
                throw new ConfigurationException("environment", [$"AIRLOCK_UPSTREAM_URL: must be an absolute http(s) URL"]);
            }
            upstream = new UpstreamConfig
            {
                Name = "main",
                Kind = UpstreamKind.Messages,
                Url = url,
                ApiKeyEnv = string.IsNullOrEmpty(getEnvironment("AIRLOCK_UPSTREAM_API_KEY")) ? null : "AIRLOCK_UPSTREAM_API_KEY",
            };
        }
        else if (!string.IsNullOrWhiteSpace(getEnvironment("ANTHROPIC_API_KEY")))
        {
            upstream = new UpstreamConfig
            {
                Name = "main",
                Kind = UpstreamKind.Anthropic,
                Url = new Uri("https://api.anthropic.com"),
                ApiKeyEnv = "ANTHROPIC_API_KEY",
            };
            level = 0;
        }
        else
        {
            upstream = new UpstreamConfig { Name = "simulated", Kind = UpstreamKind.Simulated };
        }
        return new AirlockConfig
        {
            Level = level,
            DataDir = Path.GetFullPath(dataDir),
            Upstreams = [upstream],
            Routes = [new RouteConfig { Models = ["*"], Upstream = upstream.Name }],
            Source = QuickstartSource,
        };
    }

    private static AirlockConfig? Read(ConfigReader r, string source, string baseDirectory)
    {
        var level = r.Int("level", required: true, min: 1, max: 3) ?? 1;
        var dataDir = r.String("data_dir") ?? "./.airlock";
        var urls = r.String("server:urls") ?? "http://127.0.0.1:8080";
        var limits = new LimitsConfig
        {
            MaxBodyBytes = r.Long("limits:max_body_bytes", min: 1024, max: 1L << 31) ?? new LimitsConfig().MaxBodyBytes,
            MaxJsonDepth = r.Int("limits:max_json_depth", min: 8, max: 1024) ?? new LimitsConfig().MaxJsonDepth,
        };

        var allowedRegions = r.StringList("allowed_regions");
        var upstreams = new List<UpstreamConfig>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        var upstreamSections = r.Children("upstreams");
        if (upstreamSections.Count == 0)
        {
            r.Error("upstreams", "at least one upstream is required");
        }
        foreach (var section in upstreamSections)
        {
            var name = r.String(section + ":name", required: true);
            if (name is not null && !names.Add(name))
            {
                r.Error(section + ":name", $"duplicate upstream name '{name}'");
            }
            var kind = r.Enum(section + ":kind", required: true, UpstreamKind.Anthropic,
                ("anthropic", UpstreamKind.Anthropic), ("messages", UpstreamKind.Messages), ("bedrock", UpstreamKind.Bedrock),
                ("vertex", UpstreamKind.Vertex), ("openai", UpstreamKind.OpenAi), ("simulated", UpstreamKind.Simulated));
            var cloud = kind is UpstreamKind.Bedrock or UpstreamKind.Vertex;
            var url = kind == UpstreamKind.Simulated ? null : r.Url(section + ":url", required: !cloud);
            var apiKeyEnv = r.String(section + ":api_key_env");
            if (apiKeyEnv is not null && !IsEnvironmentVariableName(apiKeyEnv))
            {
                r.Error(section + ":api_key_env", "must be the NAME of an environment variable (letters, digits, _), not a key value");
            }
            var region = r.String(section + ":region", required: cloud);
            if (region is not null && !IsRegionName(region))
            {
                r.Error(section + ":region", $"must be a region name such as us-east-1, europe-west4 or global (got '{region}')");
            }
            // Whether the region is allowed is an egress check (EgressEvaluator), reported with the other level violations.
            var upstreamRegions = r.StringList(section + ":allowed_regions");
            var project = r.String(section + ":project", required: kind == UpstreamKind.Vertex);
            var credentialsFile = r.String(section + ":credentials_file");
            if (credentialsFile is not null)
            {
                credentialsFile = Path.GetFullPath(Path.Combine(baseDirectory, credentialsFile));
                if (!File.Exists(credentialsFile))
                {
                    r.Error(section + ":credentials_file", $"file not found: {credentialsFile}");
                }
            }
            var modelMap = new List<ModelMapping>();
            foreach (var mapping in r.Children(section + ":model_map"))
            {
                var match = r.String(mapping + ":match", required: true);
                var target = r.String(mapping + ":model", required: true);
                if (match is not null && target is not null)
                {
                    modelMap.Add(new ModelMapping { Match = match, Model = target });
                }
            }
            var defaults = new UpstreamConfig { Name = "", Kind = kind };
            upstreams.Add(new UpstreamConfig
            {
                Name = name ?? "",
                Kind = kind,
                Url = url,
                ApiKeyEnv = apiKeyEnv,
                Region = region,
                Project = project,
                CredentialsFile = credentialsFile,
                ModelMap = modelMap,
                AllowedRegions = upstreamRegions,
                CircuitBreaker = ReadCircuitBreaker(r, section + ":circuit_breaker"),
                Retries = r.Int(section + ":retries", min: 0, max: 10) ?? 0,
                RetryBackoff = r.Duration(section + ":retry_backoff") ?? defaults.RetryBackoff,
                ConnectTimeout = r.Duration(section + ":connect_timeout") ?? defaults.ConnectTimeout,
                FirstByteTimeout = r.Duration(section + ":first_byte_timeout") ?? defaults.FirstByteTimeout,
                IdleTimeout = r.Duration(section + ":idle_timeout") ?? defaults.IdleTimeout,
                MaxOutputTokens = r.Int(section + ":max_output_tokens", min: 1, max: 10_000_000),
            });
        }

        var routes = new List<RouteConfig>();
        var routeSections = r.Children("routes");
        if (routeSections.Count == 0)
        {
            r.Error("routes", "at least one route is required");
        }
        foreach (var section in routeSections)
        {
            var models = r.StringList(section + ":models");
            if (models.Count == 0)
            {
                r.Error(section + ":models", "list at least one model name or glob, e.g. [\"claude-*\"]");
            }
            // One upstream, or an ordered list: the first serves, the others take over when it fails before answering.
            var routeUpstreams = r.StringList(section + ":upstream");
            if (routeUpstreams.Count == 0)
            {
                r.Error(section + ":upstream", "is required (an upstream name, or a list tried in order)");
            }
            foreach (var upstreamName in routeUpstreams)
            {
                if (!names.Contains(upstreamName))
                {
                    r.Error(section + ":upstream", $"no upstream named '{upstreamName}' (known: {string.Join(", ", names)})");
                }
            }
            routes.Add(new RouteConfig { Models = models, Upstream = routeUpstreams.FirstOrDefault() ?? "", Fallbacks = routeUpstreams.Skip(1).ToList() });
        }

        var modelOverrides = new List<ModelMapping>();
        foreach (var section in r.Children("model_overrides"))
        {
            var match = r.String(section + ":match", required: true);
            var target = r.String(section + ":model", required: true);
            if (match is not null && target is not null)
            {
                modelOverrides.Add(new ModelMapping { Match = match, Model = target });
            }
        }
        var egress = new EgressConfig
        {
            AllowLoopback = r.Bool("egress:allow_loopback") ?? false,
            Proxy = r.Url("egress:proxy", required: false),
        };

        var inspection = ReadInspection(r, baseDirectory);
        var betas = ReadBetaRules(r);
        var audit = ReadAudit(r);

        return new AirlockConfig
        {
            Level = level,
            Inspection = inspection,
            ClaudeCode = ReadClaudeCode(r),
            Audit = audit,
            Siem = ReadSiem(r, baseDirectory),
            DataDir = Path.GetFullPath(Path.Combine(baseDirectory, dataDir)),
            Urls = urls,
            Limits = limits,
            Upstreams = upstreams,
            Routes = routes,
            AllowedRegions = allowedRegions,
            Egress = egress,
            ModelOverrides = modelOverrides,
            Betas = betas,
            Source = source,
        };
    }

    private static List<BetaRuleConfig> ReadBetaRules(ConfigReader r)
    {
        var rules = new List<BetaRuleConfig>();
        foreach (var section in r.Children("betas"))
        {
            var kind = r.Enum(section + ":kind", required: true, UpstreamKind.Anthropic,
                ("anthropic", UpstreamKind.Anthropic), ("messages", UpstreamKind.Messages), ("bedrock", UpstreamKind.Bedrock),
                ("vertex", UpstreamKind.Vertex), ("simulated", UpstreamKind.Simulated));
            var beta = r.String(section + ":beta", required: true);
            var action = r.OneOf(section + ":action", ["pass", "drop", "refuse"], required: true);
            if (beta is not null && action is not null)
            {
                rules.Add(new BetaRuleConfig { Kind = kind, Beta = beta, Action = action, Fields = r.StringList(section + ":fields") });
            }
        }
        return rules;
    }

    private static CircuitBreakerConfig ReadCircuitBreaker(ConfigReader r, string key)
    {
        var defaults = new CircuitBreakerConfig();
        var ratioPercent = r.Int(key + ":failure_ratio_percent", min: 1, max: 100);
        return new CircuitBreakerConfig
        {
            Enabled = r.Bool(key + ":enabled") ?? defaults.Enabled,
            ConsecutiveFailures = r.Int(key + ":consecutive_failures", min: 1, max: 1000) ?? defaults.ConsecutiveFailures,
            FailureRatio = ratioPercent is { } percent ? percent / 100.0 : defaults.FailureRatio,
            MinimumCalls = r.Int(key + ":minimum_calls", min: 1, max: 100_000) ?? defaults.MinimumCalls,
            Window = r.Duration(key + ":window") ?? defaults.Window,
            BreakDuration = r.Duration(key + ":break_duration") ?? defaults.BreakDuration,
        };
    }

    private static bool IsRegionName(string region) =>
        region.Length is > 0 and <= 64 && region.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-');

    private static readonly string[] Actions = ["alert", "redact", "block"];
    private static readonly string[] Categories = ["secret", "personal-data", "organization-term"];
    private static readonly string[] PersonalEntities = ["email", "phone", "payment-card", "iban", "us-ssn", "ip-address"];

    private static ClaudeCodeConfig ReadClaudeCode(ConfigReader r)
    {
        const string S = "claude_code:";
        var defaults = new ClaudeCodeConfig();
        var denyFiles = r.StringList(S + "deny_files");
        for (var i = 0; i < denyFiles.Count; i++)
        {
            var pattern = denyFiles[i];
            if (pattern.StartsWith('/') || pattern.StartsWith('~') || pattern.Contains('\\', StringComparison.Ordinal)
                || pattern.Split('/').Any(part => part is "" or "." or "..") || pattern.Any(c => char.IsWhiteSpace(c) || c is '(' or ')' or '"'))
            {
                r.Error($"{S}deny_files:{i}", $"'{pattern}' must be a file name (*.secret) or a relative path suffix (config/prod/*.yaml): no leading / or ~, no '..', no spaces or parentheses");
            }
        }
        var servers = r.StringList(S + "allowed_mcp_servers");
        foreach (var server in servers.Where(s => !IsMcpServerName(s)))
        {
            r.Error(S + "allowed_mcp_servers", $"'{server}' is not an MCP server name (letters, digits, '-', '_', '.')");
        }
        return new ClaudeCodeConfig
        {
            DenyFiles = denyFiles,
            AllowedMcpServers = servers,
            McpServers = ReadMcpServers(r, S + "mcp_servers"),
            CleanupPeriodDays = r.Int(S + "cleanup_period_days", min: 1, max: 3650) ?? defaults.CleanupPeriodDays,
            FailClosed = (r.OneOf(S + "on_error", ["block", "pass"]) ?? "block") == "block",
            SessionKeyLifetime = r.Duration(S + "session_key_ttl") ?? defaults.SessionKeyLifetime,
            MaxScanBytes = r.Long(S + "max_scan_bytes", min: 4096, max: 256L * 1024 * 1024) ?? defaults.MaxScanBytes,
        };
    }

    private static List<McpServerConfig> ReadMcpServers(ConfigReader r, string key)
    {
        var result = new List<McpServerConfig>();
        foreach (var section in r.Children(key))
        {
            var name = section[(section.LastIndexOf(':') + 1)..];
            if (!IsMcpServerName(name))
            {
                r.Error(section, $"'{name}' is not an MCP server name (letters, digits, '-', '_', '.')");
            }
            var transport = r.OneOf(section + ":type", ["stdio", "http", "sse"]) ?? "stdio";
            var url = transport == "stdio" ? null : r.Url(section + ":url", required: true);
            var command = r.String(section + ":command", required: transport == "stdio");
            if (transport != "stdio" && command is not null)
            {
                r.Error(section + ":command", $"a {transport} server has a url, not a command");
            }
            if (transport == "stdio" && r.String(section + ":url") is not null)
            {
                r.Error(section + ":url", "a stdio server has a command, not a url (set type: http or sse)");
            }
            result.Add(new McpServerConfig(name, transport, url, command, r.StringList(section + ":args"),
                ReadLiteralFreeMap(r, section + ":env"), ReadLiteralFreeMap(r, section + ":headers")));
        }
        return result;
    }

    private static bool IsMcpServerName(string name) => name.Length > 0 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');

    /// <summary>
    /// Environment and header values go to every developer machine in a readable file, so they must reference
    /// the machine's own environment (<c>${VAR}</c>, expanded by Claude Code) instead of carrying a credential.
    /// </summary>
    private static Dictionary<string, string> ReadLiteralFreeMap(ConfigReader r, string key)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var child in r.Children(key))
        {
            var name = child[(child.LastIndexOf(':') + 1)..];
            var value = r.String(child) ?? "";
            if (LooksLikeCredentialName(name) && !value.Contains("${", StringComparison.Ordinal))
            {
                r.Error(child, "credentials must be ${VAR} references expanded on the developer's machine, not literal values in a fleet-wide file");
            }
            map[name] = value;
        }
        return map;
    }

    private static bool LooksLikeCredentialName(string name) =>
        name.Equals("Authorization", StringComparison.OrdinalIgnoreCase)
        || name.Contains("TOKEN", StringComparison.OrdinalIgnoreCase) || name.Contains("SECRET", StringComparison.OrdinalIgnoreCase)
        || name.Contains("KEY", StringComparison.OrdinalIgnoreCase) || name.Contains("PASSWORD", StringComparison.OrdinalIgnoreCase);

    private static InspectionConfig ReadInspection(ConfigReader r, string baseDirectory)
    {
        const string S = "inspection:";
        var defaults = new InspectionConfig();
        var packs = r.StringList(S + "rule_packs").Select(p => Path.GetFullPath(Path.Combine(baseDirectory, p))).ToList();
        for (var i = 0; i < packs.Count; i++)
        {
            if (!File.Exists(packs[i]))
            {
                r.Error($"{S}rule_packs:{i}", $"file not found: {packs[i]}");
            }
        }
        var pd = new PersonalDataConfig
        {
            Enabled = r.Bool(S + "personal_data:enabled") ?? true,
            Disabled = r.OneOfList(S + "personal_data:disabled", PersonalEntities),
            PhoneRegion = r.String(S + "personal_data:phone_region") ?? "US",
            MinConfidence = r.OneOf(S + "personal_data:min_confidence", ["low", "medium", "high"]) ?? "medium",
        };
        var terms = new List<TermListConfig>();
        var termNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var section in r.Children(S + "terms"))
        {
            var name = r.String(section + ":name", required: true) ?? "";
            if (name.Length > 0 && (!name.All(c => char.IsAsciiLetterOrDigit(c) || c == '-') || !termNames.Add(name)))
            {
                r.Error(section + ":name", "must be unique and use only letters, digits and '-' (it becomes rule id org-NAME)");
            }
            var file = r.String(section + ":file");
            string? fullFile = null;
            if (file is not null)
            {
                fullFile = Path.GetFullPath(Path.Combine(baseDirectory, file));
                if (!File.Exists(fullFile))
                {
                    r.Error(section + ":file", $"file not found: {fullFile}");
                }
            }
            var list = new TermListConfig
            {
                Name = name,
                File = fullFile,
                Terms = r.StringList(section + ":terms"),
                Patterns = r.StringList(section + ":patterns"),
                Action = r.OneOf(section + ":action", Actions),
            };
            if (list.File is null && list.Terms.Count == 0 && list.Patterns.Count == 0)
            {
                r.Error(section, "needs file, terms or patterns");
            }
            terms.Add(list);
        }
        return new InspectionConfig
        {
            Enabled = r.Bool(S + "enabled") ?? defaults.Enabled,
            FailClosed = (r.OneOf(S + "on_error", ["block", "pass"]) ?? "block") == "block",
            BuiltInRules = r.Bool(S + "builtin_rules") ?? defaults.BuiltInRules,
            RulePacks = packs,
            ScanMedia = r.Bool(S + "scan_media") ?? false,
            PersonalData = pd,
            Terms = terms,
            Actions = ReadActionRules(r, S + "actions", allowRedact: true),
            OutputAction = r.OneOf(S + "output:action", ["alert", "block"]) ?? "alert",
            OutputActions = ReadActionRules(r, S + "output:actions", allowRedact: false),
        };
    }

    private static List<ActionRuleConfig> ReadActionRules(ConfigReader r, string key, bool allowRedact)
    {
        var rules = new List<ActionRuleConfig>();
        foreach (var section in r.Children(key))
        {
            var action = r.OneOf(section + ":action", allowRedact ? Actions : ["alert", "block"], required: true) ?? "alert";
            var rule = new ActionRuleConfig
            {
                Rules = r.StringList(section + ":rules"),
                Categories = r.OneOfList(section + ":categories", Categories),
                Teams = r.StringList(section + ":teams"),
                Action = action,
            };
            if (rule.Rules.Count == 0 && rule.Categories.Count == 0 && rule.Teams.Count == 0)
            {
                r.Error(section, "name at least one of rules, categories or teams (a rule matching everything hides the defaults)");
            }
            rules.Add(rule);
        }
        return rules;
    }

    private static bool IsEnvironmentVariableName(string name) =>
        name.Length is > 0 and <= 128 && !char.IsAsciiDigit(name[0]) && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

    /// <summary>Typed reads with error collection; remembers which keys were read so unknown keys can be reported.</summary>
    private sealed class ConfigReader(IConfiguration configuration, Dictionary<string, int> lines, List<string> errors)
    {
        private readonly HashSet<string> _consumed = new(StringComparer.OrdinalIgnoreCase);

        public void Error(string key, string reason)
        {
            var line = lines.TryGetValue(key, out var l) ? $"line {l}: " : "";
            errors.Add($"{line}{DisplayPath(key)}: {reason}");
        }

        public List<string> Children(string key)
        {
            _consumed.Add(key);
            return configuration.GetSection(key).GetChildren().Select(c => c.Path).ToList();
        }

        public string? String(string key, bool required = false)
        {
            _consumed.Add(key);
            var value = configuration[key];
            if (string.IsNullOrWhiteSpace(value))
            {
                if (required)
                {
                    Error(key, "is required");
                }
                return null;
            }
            return value.Trim();
        }

        public List<string> StringList(string key)
        {
            var list = new List<string>();
            foreach (var child in Children(key))
            {
                var value = String(child);
                if (value is not null)
                {
                    list.Add(value);
                }
            }
            // A single scalar (`models: "*"`) is accepted as a one-item list.
            if (list.Count == 0 && configuration[key] is { Length: > 0 } single)
            {
                list.Add(single.Trim());
            }
            return list;
        }

        public bool? Bool(string key)
        {
            var text = String(key);
            if (text is null)
            {
                return null;
            }
            if (bool.TryParse(text, out var value))
            {
                return value;
            }
            Error(key, $"must be true or false (got '{text}')");
            return null;
        }

        public string? OneOf(string key, string[] allowed, bool required = false)
        {
            var text = String(key, required);
            if (text is null)
            {
                return null;
            }
            var match = allowed.FirstOrDefault(a => string.Equals(a, text, StringComparison.OrdinalIgnoreCase));
            if (match is null)
            {
                Error(key, $"must be one of {string.Join(", ", allowed)} (got '{text}')");
            }
            return match;
        }

        public List<string> OneOfList(string key, string[] allowed)
        {
            var values = StringList(key);
            var result = new List<string>();
            foreach (var value in values)
            {
                var match = allowed.FirstOrDefault(a => string.Equals(a, value, StringComparison.OrdinalIgnoreCase));
                if (match is null)
                {
                    Error(key, $"'{value}' is not one of {string.Join(", ", allowed)}");
                }
                else
                {
                    result.Add(match);
                }
            }
            return result;
        }

        public long? Long(string key, long min, long max, bool required = false)
        {
            var text = String(key, required);
            if (text is null)
            {
                return null;
            }
            if (!long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
            {
                Error(key, $"must be a whole number from {min} to {max} (got '{text}')");
                return null;
            }
            return value;
        }

        public int? Int(string key, int min, int max, bool required = false) => (int?)Long(key, min, max, required);

        public TimeSpan? Duration(string key)
        {
            var text = String(key);
            if (text is null)
            {
                return null;
            }
            if (!Durations.TryParse(text, out var value))
            {
                Error(key, $"must be a duration such as 500ms, 30s, 5m, 2h (got '{text}')");
                return null;
            }
            return value;
        }

        public Uri? Url(string key, bool required)
        {
            var text = String(key, required);
            if (text is null)
            {
                return null;
            }
            if (!Uri.TryCreate(text, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
            {
                Error(key, $"must be an absolute http:// or https:// URL (got '{text}')");
                return null;
            }
            if (!string.IsNullOrEmpty(url.UserInfo) || !string.IsNullOrEmpty(url.Query) || !string.IsNullOrEmpty(url.Fragment))
            {
                Error(key, "must not contain credentials, a query or a fragment (put credentials in api_key_env)");
                return null;
            }
            return url;
        }

        public T Enum<T>(string key, bool required, T fallback, params (string Name, T Value)[] values)
        {
            var text = String(key, required);
            if (text is null)
            {
                return fallback;
            }
            foreach (var (name, value) in values)
            {
                if (string.Equals(name, text, StringComparison.OrdinalIgnoreCase))
                {
                    return value;
                }
            }
            Error(key, $"must be one of {string.Join(", ", values.Select(v => v.Name))} (got '{text}')");
            return fallback;
        }

        /// <summary>Keys present in the file that nothing read: most often a typo that would silently weaken policy.</summary>
        public void ReportUnknownKeys(IEnumerable<string> fileKeys)
        {
            foreach (var key in fileKeys)
            {
                if (!IsConsumed(key))
                {
                    Error(key, "unknown key");
                }
            }
        }

        private bool IsConsumed(string key) => _consumed.Contains(key);

        private static string DisplayPath(string key)
        {
            var parts = key.Split(':');
            var builder = new System.Text.StringBuilder();
            foreach (var part in parts)
            {
                if (part.Length > 0 && part.All(char.IsAsciiDigit))
                {
                    builder.Append('[').Append(part).Append(']');
                }
                else
                {
                    if (builder.Length > 0)
                    {
                        builder.Append('.');
                    }
                    builder.Append(part);
                }
            }
            return builder.ToString();
        }
    }
}
