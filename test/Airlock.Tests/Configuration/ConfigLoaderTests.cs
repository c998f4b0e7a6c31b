using Airlock.Core.Configuration;

namespace Airlock.Tests.Configuration;

public sealed class ConfigLoaderTests
{
    private const string BaseDirectory = "/srv/airlock";

    private const string ValidYaml = """
        level: 2
        data_dir: ./state
        server:
          urls: http://0.0.0.0:9090
        limits:
          max_body_bytes: 2048
          max_json_depth: 32
        upstreams:
          - name: bedrock-proxy
            kind: anthropic
            url: https://llm-gateway.corp.example
            api_key_env: ANTHROPIC_API_KEY
            connect_timeout: 3s
            first_byte_timeout: 2m
            idle_timeout: 1500ms
          - name: onprem
            kind: messages
            url: http://10.0.0.5:8000/prefix
          - name: sim
            kind: simulated
        routes:
          - models: ["claude-*", "opus"]
            upstream: bedrock-proxy
          - models: "*"
            upstream: onprem
        """;

    private static readonly Dictionary<string, string?> NoEnvironment = [];

    private static AirlockConfig Parse(string yaml, IDictionary<string, string?>? environment = null) =>
        ConfigLoader.Parse(yaml, "airlock.yaml", BaseDirectory, environment ?? NoEnvironment);

    private static IReadOnlyList<string> Errors(string yaml, IDictionary<string, string?>? environment = null) =>
        Assert.Throws<ConfigurationException>(() => Parse(yaml, environment)).Errors;

    [Fact]
    public void Reads_every_setting_of_a_valid_file()
    {
        var config = Parse(ValidYaml);

        Assert.Equal(2, config.Level);
        Assert.Equal(Path.GetFullPath("/srv/airlock/state"), config.DataDir);
        Assert.Equal("http://0.0.0.0:9090", config.Urls);
        Assert.Equal(2048, config.Limits.MaxBodyBytes);
        Assert.Equal(32, config.Limits.MaxJsonDepth);
        Assert.Equal("airlock.yaml", config.Source);
        Assert.Equal(["bedrock-proxy", "onprem", "sim"], config.Upstreams.Select(u => u.Name));
        var first = config.Upstreams[0];
        Assert.Equal(UpstreamKind.Anthropic, first.Kind);
        Assert.Equal(new Uri("https://llm-gateway.corp.example"), first.Url);
        Assert.Equal("ANTHROPIC_API_KEY", first.ApiKeyEnv);
        Assert.Equal(TimeSpan.FromSeconds(3), first.ConnectTimeout);
        Assert.Equal(TimeSpan.FromMinutes(2), first.FirstByteTimeout);
        Assert.Equal(TimeSpan.FromMilliseconds(1500), first.IdleTimeout);
        Assert.Equal(UpstreamKind.Messages, config.Upstreams[1].Kind);
        Assert.Equal(new Uri("http://10.0.0.5:8000/prefix"), config.Upstreams[1].Url);
        Assert.Null(config.Upstreams[1].ApiKeyEnv);
        Assert.Equal(TimeSpan.FromMinutes(10), config.Upstreams[1].FirstByteTimeout);
        Assert.Equal(UpstreamKind.Simulated, config.Upstreams[2].Kind);
        Assert.Null(config.Upstreams[2].Url);
        Assert.Equal(["claude-*", "opus"], config.Routes[0].Models);
        Assert.Equal("bedrock-proxy", config.Routes[0].Upstream);
        Assert.Equal(["*"], config.Routes[1].Models);
        Assert.Equal("onprem", config.Routes[1].Upstream);
    }

    [Fact]
    public void Minimal_file_gets_the_documented_defaults()
    {
        var config = Parse("""
            level: 1
            upstreams:
              - name: main
                kind: anthropic
                url: https://llm-gateway.corp.example
            routes:
              - models: ["*"]
                upstream: main
            """);

        Assert.Equal(Path.GetFullPath("/srv/airlock/.airlock"), config.DataDir);
        Assert.Equal("http://127.0.0.1:8080", config.Urls);
        Assert.Equal(32L * 1024 * 1024, config.Limits.MaxBodyBytes);
        Assert.Equal(128, config.Limits.MaxJsonDepth);
        Assert.Equal(TimeSpan.FromSeconds(10), config.Upstreams[0].ConnectTimeout);
        Assert.Equal(TimeSpan.FromMinutes(5), config.Upstreams[0].IdleTimeout);
    }

    [Fact]
    public void Lists_every_error_with_its_line_and_path()
    {
        var errors = Errors("""
            level: 7
            upstreams:
              - name: main
                kind: bogus
                url: ftp://example.com
                api_key_env: "sk-live value"
              - name: main
                kind: anthropic
                url: https://user:pw@example.com
                first_byte_timeout: soon
            routes:
              - models: []
                upstream: nowhere
            limits:
              max_body_bytes: 10
            """);

        Assert.Contains("line 1: level: must be a whole number from 1 to 3 (got '7')", errors);
        Assert.Contains("line 4: upstreams[0].kind: must be one of anthropic, messages, bedrock, vertex, openai, simulated (got 'bogus')", errors);
        Assert.Contains("line 5: upstreams[0].url: must be an absolute http:// or https:// URL (got 'ftp://example.com')", errors);
        Assert.Contains(errors, e => e.StartsWith("line 6: upstreams[0].api_key_env: must be the NAME of an environment variable", StringComparison.Ordinal));
        Assert.Contains("line 7: upstreams[1].name: duplicate upstream name 'main'", errors);
        Assert.Contains(errors, e => e.StartsWith("line 9: upstreams[1].url: must not contain credentials", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("line 10: upstreams[1].first_byte_timeout: must be a duration", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("line 13: routes[0].upstream: no upstream named 'nowhere'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("routes[0].models: list at least one model", StringComparison.Ordinal));
        Assert.Contains("line 15: limits.max_body_bytes: must be a whole number from 1024 to 2147483648 (got '10')", errors);
        Assert.Equal(10, errors.Count);
    }

    [Fact]
    public void Exception_message_names_the_source_and_every_error()
    {
        var ex = Assert.Throws<ConfigurationException>(() => Parse("level: 0\n"));

        Assert.Equal("airlock.yaml", ex.Source);
        Assert.StartsWith($"airlock.yaml: {ex.Errors.Count} configuration error(s):", ex.Message, StringComparison.Ordinal);
        foreach (var error in ex.Errors)
        {
            Assert.Contains(error, ex.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Missing_required_sections_are_reported_together()
    {
        var errors = Errors("data_dir: /tmp/x\n");

        Assert.Contains("level: is required", errors);
        Assert.Contains("upstreams: at least one upstream is required", errors);
        Assert.Contains("routes: at least one route is required", errors);
    }

    [Fact]
    public void Missing_required_upstream_fields_are_reported_with_their_index()
    {
        var errors = Errors("""
            level: 1
            upstreams:
              - kind: messages
            routes:
              - models: ["*"]
                upstream: main
            """);

        Assert.Contains("upstreams[0].name: is required", errors);
        Assert.Contains("upstreams[0].url: is required", errors);
    }

    [Theory]
    [InlineData("levle: 1\n", "line 8: levle: unknown key")]
    [InlineData("server:\n  url: http://127.0.0.1:1\n", "line 9: server.url: unknown key")]
    [InlineData("limits:\n  max_body: 5\n", "line 9: limits.max_body: unknown key")]
    public void Unknown_keys_are_errors(string extra, string expected)
    {
        const string valid = "level: 1\nupstreams:\n  - name: x\n    kind: simulated\nroutes:\n  - models: ['*']\n    upstream: x\n";

        Assert.Equal([expected], Errors(valid + extra));
    }

    [Fact]
    public void Unknown_key_inside_an_upstream_is_an_error()
    {
        var errors = Errors("level: 1\nupstreams:\n  - name: x\n    kind: simulated\n    api_key: value\nroutes:\n  - models: ['*']\n    upstream: x\n");

        Assert.Equal(["line 5: upstreams[0].api_key: unknown key"], errors);
    }

    [Fact]
    public void Invalid_yaml_reports_line_and_column()
    {
        var error = Assert.Single(Errors("level: 1\nupstreams: [\n  - a\n"));

        Assert.StartsWith("airlock.yaml:", error, StringComparison.Ordinal);
        Assert.Contains("invalid YAML", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Top_level_must_be_a_mapping()
    {
        var error = Assert.Single(Errors("- level\n- 1\n"));

        Assert.Contains("top level must be a mapping", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Environment_overrides_file_values()
    {
        var environment = new Dictionary<string, string?>
        {
            ["AIRLOCK_LEVEL"] = "1",
            ["AIRLOCK_UPSTREAMS__1__URL"] = "http://192.168.1.20:11434",
            ["AIRLOCK_LIMITS__MAX_JSON_DEPTH"] = "64",
            ["UNRELATED"] = "x",
        };

        var config = Parse(ValidYaml, environment);

        Assert.Equal(1, config.Level);
        Assert.Equal(new Uri("http://192.168.1.20:11434"), config.Upstreams[1].Url);
        Assert.Equal(64, config.Limits.MaxJsonDepth);
        Assert.Equal(new Uri("https://llm-gateway.corp.example"), config.Upstreams[0].Url);
    }

    [Fact]
    public void Environment_override_of_the_first_upstream_url()
    {
        var config = Parse(ValidYaml, new Dictionary<string, string?> { ["AIRLOCK_UPSTREAMS__0__URL"] = "https://bedrock-gw.internal" });

        Assert.Equal(new Uri("https://bedrock-gw.internal"), config.Upstreams[0].Url);
    }

    [Fact]
    public void Environment_overrides_are_validated_like_file_values()
    {
        var errors = Errors(ValidYaml, new Dictionary<string, string?> { ["AIRLOCK_LEVEL"] = "banana" });

        Assert.Contains(errors, e => e.EndsWith("level: must be a whole number from 1 to 3 (got 'banana')", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("500ms", 500)]
    [InlineData("30s", 30_000)]
    [InlineData("5m", 300_000)]
    [InlineData("2h", 7_200_000)]
    [InlineData("1d", 86_400_000)]
    [InlineData("45", 45_000)]
    [InlineData("0.5s", 500)]
    public void Durations_parse(string text, double milliseconds)
    {
        Assert.True(Durations.TryParse(text, out var value));
        Assert.Equal(milliseconds, value.TotalMilliseconds);
    }

    [Theory]
    [InlineData("")]
    [InlineData("0s")]
    [InlineData("-5s")]
    [InlineData("5 minutes")]
    [InlineData("1e400s")]
    [InlineData("ms")]
    public void Invalid_durations_are_refused(string text)
    {
        Assert.False(Durations.TryParse(text, out _));
    }

    [Fact]
    public void Quickstart_prefers_an_explicit_upstream_url()
    {
        var environment = new Dictionary<string, string?>
        {
            ["AIRLOCK_UPSTREAM_URL"] = "http://127.0.0.1:11434",
            ["AIRLOCK_UPSTREAM_API_KEY"] = "local-token",
            ["ANTHROPIC_API_KEY"] = "also-set",
        };

        var config = ConfigLoader.CreateQuickstart("data", name => environment.GetValueOrDefault(name));

        var upstream = Assert.Single(config.Upstreams);
        Assert.Equal(UpstreamKind.Messages, upstream.Kind);
        Assert.Equal(new Uri("http://127.0.0.1:11434"), upstream.Url);
        Assert.Equal("AIRLOCK_UPSTREAM_API_KEY", upstream.ApiKeyEnv);
        Assert.Equal(Path.GetFullPath("data"), config.DataDir);
        var route = Assert.Single(config.Routes);
        Assert.Equal(["*"], route.Models);
        Assert.Equal(upstream.Name, route.Upstream);
    }

    [Fact]
    public void Quickstart_without_upstream_key_sends_no_credential()
    {
        var config = ConfigLoader.CreateQuickstart("data", name => name == "AIRLOCK_UPSTREAM_URL" ? "https://vllm.internal/v1" : null);

        Assert.Null(Assert.Single(config.Upstreams).ApiKeyEnv);
    }

    [Fact]
    public void Quickstart_uses_anthropic_when_its_key_is_set()
    {
        var config = ConfigLoader.CreateQuickstart("data", name => name == "ANTHROPIC_API_KEY" ? "sk-test-value" : null);

        var upstream = Assert.Single(config.Upstreams);
        Assert.Equal(UpstreamKind.Anthropic, upstream.Kind);
        Assert.Equal(new Uri("https://api.anthropic.com"), upstream.Url);
        Assert.Equal("ANTHROPIC_API_KEY", upstream.ApiKeyEnv);
    }

    [Fact]
    public void Quickstart_falls_back_to_the_simulated_model()
    {
        var config = ConfigLoader.CreateQuickstart("data", _ => "  ");

        var upstream = Assert.Single(config.Upstreams);
        Assert.Equal(UpstreamKind.Simulated, upstream.Kind);
        Assert.Null(upstream.Url);
        Assert.Null(upstream.ApiKeyEnv);
    }

    [Theory]
    [InlineData("not a url")]
    [InlineData("ftp://host/x")]
    [InlineData("/relative/path")]
    public void Quickstart_refuses_a_bad_upstream_url(string url)
    {
        var ex = Assert.Throws<ConfigurationException>(() => ConfigLoader.CreateQuickstart("data", name => name == "AIRLOCK_UPSTREAM_URL" ? url : null));

        Assert.Contains(ex.Errors, e => e.StartsWith("AIRLOCK_UPSTREAM_URL:", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_file_reports_a_missing_file()
    {
        var path = Path.Combine(Path.GetTempPath(), "airlock-missing-" + Guid.NewGuid().ToString("N") + ".yaml");

        var ex = Assert.Throws<ConfigurationException>(() => ConfigLoader.LoadFile(path, NoEnvironment));

        Assert.Equal(["file not found"], ex.Errors);
    }

    [Fact]
    public void Load_file_resolves_data_dir_next_to_the_file()
    {
        var directory = Directory.CreateTempSubdirectory("airlock-config-");
        try
        {
            var path = Path.Combine(directory.FullName, "airlock.yaml");
            File.WriteAllText(path, "level: 1\ndata_dir: ./db\nupstreams:\n  - name: s\n    kind: simulated\nroutes:\n  - models: ['*']\n    upstream: s\n");

            var config = ConfigLoader.LoadFile(path, NoEnvironment);

            Assert.Equal(Path.Combine(directory.FullName, "db"), config.DataDir);
            Assert.Equal(path, config.Source);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    private const string MinimalYaml = "level: 3\nupstreams:\n  - name: s\n    kind: simulated\nroutes:\n  - models: ['*']\n    upstream: s\n";

    [Fact]
    public void Mcp_servers_are_read_for_managed_mcp_json()
    {
        var config = Parse(MinimalYaml + """
            claude_code:
              mcp_servers:
                github:
                  type: http
                  url: https://mcp.internal.example.com/github
                  headers:
                    Authorization: Bearer ${GITHUB_MCP_TOKEN}
                sentry:
                  command: /opt/mcp/sentry
                  args: [--read-only]
                  env:
                    REGION: eu
            """);

        var servers = config.ClaudeCode.McpServers;
        Assert.Equal(["github", "sentry"], servers.Select(s => s.Name));
        Assert.Equal("http", servers[0].Transport);
        Assert.Equal(new Uri("https://mcp.internal.example.com/github"), servers[0].Url);
        Assert.Equal("Bearer ${GITHUB_MCP_TOKEN}", servers[0].Headers["Authorization"]);
        Assert.Equal("stdio", servers[1].Transport);
        Assert.Equal("/opt/mcp/sentry", servers[1].Command);
        Assert.Equal(["--read-only"], servers[1].Args);
        Assert.Equal("eu", servers[1].Env["REGION"]);
    }

    [Fact]
    public void Mcp_servers_with_literal_credentials_or_mixed_transports_are_refused()
    {
        var errors = Errors(MinimalYaml + """
            claude_code:
              mcp_servers:
                github:
                  type: http
                  url: https://mcp.internal.example.com/github
                  headers:
                    Authorization: Bearer ghp_literal
                local:
                  type: stdio
                  url: https://mcp.internal.example.com/x
                remote:
                  type: sse
                "bad name":
                  command: x
            """);

        Assert.Contains(errors, e => e.Contains("claude_code.mcp_servers.github.headers.Authorization", StringComparison.Ordinal) && e.Contains("${VAR}", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("claude_code.mcp_servers.local.command: is required", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("claude_code.mcp_servers.local.url", StringComparison.Ordinal) && e.Contains("stdio server has a command", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("claude_code.mcp_servers.remote.url: is required", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("'bad name' is not an MCP server name", StringComparison.Ordinal));
        // The refused literal never appears in the error text.
        Assert.DoesNotContain(errors, e => e.Contains("ghp_literal", StringComparison.Ordinal));
    }
}
