using System.Text.Json;
using System.Xml.Linq;
using Airlock.Core.Configuration;
using Airlock.Core.Egress;
using Airlock.Core.Posture;

namespace Airlock.Tests.Posture;

/// <summary><c>airlock posture</c>: the report computed from a configuration and probes, in each format.</summary>
public sealed class PostureReportTests
{
    private const string SecretValue = "vllm-secret-value-that-must-not-appear";

    // Level 2: Bedrock behind a VPC endpoint with a US profile, an on-premises vLLM, no MCP allowlist (a checklist failure).
    private const string Yaml = """
        level: 2
        allowed_regions: [us-east-1, us]
        upstreams:
          - name: bedrock-us
            kind: bedrock
            region: us-east-1
            url: https://vpce-0a1b2c3d4e5f60718-abcdefgh.bedrock-runtime.us-east-1.vpce.amazonaws.com
            model_map:
              - match: "claude-*"
                model: "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
          - name: local-vllm
            kind: messages
            url: http://10.0.0.12:8000
            api_key_env: VLLM_API_KEY
        routes:
          - models: ["qwen-*"]
            upstream: local-vllm
          - models: ["claude-*"]
            upstream: bedrock-us
        """;

    private static readonly Dictionary<string, string?> Environment = new() { ["VLLM_API_KEY"] = SecretValue };

    // The file lives in a (bare-bones) git work tree, as the review-gate item expects.
    private static AirlockConfig Config(string yaml = Yaml)
    {
        var repository = Directory.CreateTempSubdirectory("airlock-posture-");
        Directory.CreateDirectory(Path.Combine(repository.FullName, ".git"));
        var path = Path.Combine(repository.FullName, "airlock.yaml");
        File.WriteAllText(path, yaml);
        return ConfigLoader.Parse(yaml, path, repository.FullName, Environment);
    }

    private static PostureReport Report(AirlockConfig config, AuditProbe? audit = null, RulesProbe? rules = null) =>
        PostureBuilder.Build(config, new PostureInputs
        {
            EgressChecks = PostureEgress.From(EgressEvaluator.Evaluate(config)),
            Audit = audit ?? new AuditProbe("sqlite in /srv", true, true, "12 records (sequence 1–12), 1 checkpoints, signatures checked with key k1"),
            Rules = rules ?? new RulesProbe(true, "b3f1c2", 220, "built-in pack"),
            GeneratedAt = new DateTimeOffset(2026, 11, 24, 6, 0, 0, TimeSpan.Zero),
            GetEnvironment = name => Environment.GetValueOrDefault(name),
        });

    private static XDocument ParseHtml(string html)
    {
        using var reader = System.Xml.XmlReader.Create(new StringReader(html), new System.Xml.XmlReaderSettings { DtdProcessing = System.Xml.DtdProcessing.Ignore });
        return XDocument.Load(reader);
    }

    [Fact]
    public void Json_has_the_level_checks_matrix_routes_upstream_terms_and_checklist()
    {
        var report = Report(Config());
        using var json = JsonDocument.Parse(PostureRenderer.Json(report));
        var root = json.RootElement;

        Assert.Equal(2, root.GetProperty("level").GetInt32());
        Assert.Equal("2026-11-24T06:00:00Z", root.GetProperty("generated_at").GetString());
        Assert.False(root.GetProperty("passed").GetBoolean());
        foreach (var list in new[] { "checks", "checklist" })
        {
            foreach (var check in root.GetProperty(list).EnumerateArray())
            {
                var status = check.GetProperty("status").GetString();
                Assert.Contains(status, new[] { "pass", "fail", "unknown" });
                Assert.False(string.IsNullOrEmpty(check.GetProperty("evidence").GetString()));
                if (status == "fail")
                {
                    Assert.False(string.IsNullOrEmpty(check.GetProperty("fix").GetString()));
                }
            }
        }
        var checklist = root.GetProperty("checklist").EnumerateArray().Select(c => c.GetProperty("id").GetString()).ToList();
        Assert.Equal(["checklist.access_route", "checklist.permissions", "checklist.input_restrictions", "checklist.audit_logging", "checklist.retention",
            "checklist.key_rotation", "checklist.mcp_allowlist", "checklist.endpoint_settings", "checklist.review_gates"], checklist);
        var mcp = root.GetProperty("checklist").EnumerateArray().Single(c => c.GetProperty("id").GetString() == "checklist.mcp_allowlist");
        Assert.Equal("fail", mcp.GetProperty("status").GetString());
        Assert.Contains("allowed_mcp_servers", mcp.GetProperty("fix").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, root.GetProperty("totals").GetProperty("fail").GetInt32());

        // The egress evaluator's checks are in the report with their evidence.
        Assert.Contains(root.GetProperty("checks").EnumerateArray(), c => c.GetProperty("id").GetString() == "level.declared");
        Assert.Contains(root.GetProperty("checks").EnumerateArray(), c => c.GetProperty("id").GetString() == "audit.chain" && c.GetProperty("status").GetString() == "pass");
        Assert.Contains(root.GetProperty("checks").EnumerateArray(), c => c.GetProperty("id").GetString() == "inspection.rules"
            && c.GetProperty("evidence").GetString()!.Contains("b3f1c2", StringComparison.Ordinal));

        Assert.Equal(2, root.GetProperty("matrix").GetProperty("declared_level").GetInt32());
        var upstreams = root.GetProperty("upstreams").EnumerateArray().ToDictionary(u => u.GetProperty("name").GetString()!);
        var bedrock = upstreams["bedrock-us"];
        Assert.StartsWith("0 days", bedrock.GetProperty("retention").GetString(), StringComparison.Ordinal);
        Assert.Equal("AWS us-east-1, us-east-2, us-west-1, us-west-2", bedrock.GetProperty("processed_in").GetString());
        Assert.False(bedrock.GetProperty("on_premises").GetBoolean());
        var vllm = upstreams["local-vllm"];
        Assert.True(vllm.GetProperty("on_premises").GetBoolean());
        Assert.StartsWith("none", vllm.GetProperty("retention").GetString(), StringComparison.Ordinal);
        Assert.Equal("$VLLM_API_KEY", vllm.GetProperty("credential_source").GetString());
        Assert.Equal(["qwen-*"], root.GetProperty("routes")[0].GetProperty("models").EnumerateArray().Select(m => m.GetString()));
        Assert.StartsWith("flowchart LR", root.GetProperty("mermaid").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void No_format_carries_a_credential_value()
    {
        var report = Report(Config());
        foreach (var format in Enum.GetValues<PostureFormat>())
        {
            var text = PostureRenderer.Render(report, format);
            Assert.DoesNotContain(SecretValue, text, StringComparison.Ordinal);
            Assert.Contains("VLLM_API_KEY", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Markdown_has_the_mermaid_block_and_the_marked_column()
    {
        var markdown = PostureRenderer.Markdown(Report(Config()));

        Assert.Contains("```mermaid\nflowchart LR\n", markdown, StringComparison.Ordinal);
        Assert.Contains("u0[\"bedrock-us (bedrock): AWS us-east-1, us-east-2, us-west-1, us-west-2\"]", markdown, StringComparison.Ordinal);
        Assert.Contains("gw -->|\"TLS, SigV4\"| u0", markdown, StringComparison.Ordinal);
        Assert.Contains("gw -->|\"plain HTTP\"| u1", markdown, StringComparison.Ordinal);
        Assert.Contains("| Level 1 | **Level 2 ◀ this deployment** | Level 3 |", markdown, StringComparison.Ordinal);
        Assert.Contains("| **FAIL** | MCP allowlist |", markdown, StringComparison.Ordinal);
        Assert.Contains("Result: **FAILED: ", markdown, StringComparison.Ordinal);
        // The on-premises server is drawn inside the organization subgraph, Bedrock outside.
        var subgraph = markdown[markdown.IndexOf("subgraph org", StringComparison.Ordinal)..markdown.IndexOf("  end\n", StringComparison.Ordinal)];
        Assert.Contains("u1[", subgraph, StringComparison.Ordinal);
        Assert.DoesNotContain("u0[", subgraph, StringComparison.Ordinal);
    }

    [Fact]
    public void Html_is_well_formed_self_contained_and_marks_the_declared_column()
    {
        var html = PostureRenderer.Html(Report(Config()));
        var document = ParseHtml(html);

        Assert.DoesNotContain(document.Descendants(), e => e.Name.LocalName is "script" or "link" or "img" or "iframe");
        Assert.DoesNotContain(document.Descendants().Attributes(), a => a.Name.LocalName is "src" or "href");
        Assert.Contains("default-src 'none'", html, StringComparison.Ordinal);
        XNamespace svg = "http://www.w3.org/2000/svg";
        var diagram = Assert.Single(document.Descendants(svg + "svg"));
        Assert.Equal(["bedrock-us", "local-vllm"], diagram.Descendants(svg + "g").Select(g => (string?)g.Attribute("data-upstream")).OfType<string>());
        var declared = document.Descendants("th").Where(th => (string?)th.Attribute("class") == "declared").ToList();
        Assert.Equal("2", (string?)Assert.Single(declared).Attribute("data-level"));
        Assert.Equal(MatrixRows(document), document.Descendants("td").Count(td => (string?)td.Attribute("class") == "declared"));
        Assert.Equal("failed", (string?)document.Descendants("p").Single(p => (string?)p.Attribute("id") == "result").Attribute("class"));

        static int MatrixRows(XDocument d) => d.Descendants("table").Single(t => (string?)t.Attribute("id") == "matrix").Descendants("tbody").Single().Elements("tr").Count();
    }

    [Fact]
    public void Text_from_the_configuration_is_escaped_in_every_format()
    {
        var hostile = new PostureReport
        {
            GeneratedAt = DateTimeOffset.UnixEpoch,
            ConfigSource = "<script>alert(1)</script>|x",
            Level = 1,
            Checks = [new PostureCheck("x", "t", PostureStatus.Fail, "a|b\n<img src=x>", "\"fix\"")],
            Checklist = [],
            Matrix = [],
            Upstreams = [new UpstreamFacts("u\"1", "messages", "http://h", "p \"q\"", "none", "none", "none", true)],
            Routes = [],
        };
        var html = PostureRenderer.Html(hostile);
        ParseHtml(html);
        Assert.DoesNotContain("<script>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<img", html, StringComparison.Ordinal);
        var markdown = PostureRenderer.Markdown(hostile);
        Assert.Contains("a\\|b <img src=x>", markdown, StringComparison.Ordinal);
        Assert.Contains("u0[\"u#quot;1 (messages): p #quot;q#quot;\"]", markdown, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(PostureRenderer.Json(hostile));
        Assert.Equal("<script>alert(1)</script>|x", json.RootElement.GetProperty("config").GetString());
    }

    [Fact]
    public void A_complete_deployment_passes_and_a_broken_chain_or_missing_store_fails()
    {
        var good = Yaml.Replace("routes:", "claude_code:\n  allowed_mcp_servers: [github]\nroutes:", StringComparison.Ordinal);
        Assert.True(Report(Config(good)).Passed);

        var broken = Report(Config(good), audit: new AuditProbe("sqlite in /srv", true, false, "chain broken: seq 7: hash mismatch"));
        Assert.False(broken.Passed);
        var chain = broken.Checks.Single(c => c.Id == "audit.chain");
        Assert.Equal((PostureStatus.Fail, "chain broken: seq 7: hash mismatch"), (chain.Status, chain.Evidence));
        Assert.Equal(PostureStatus.Fail, broken.Checklist.Single(c => c.Id == "checklist.audit_logging").Status);

        var unreachable = Report(Config(good), audit: new AuditProbe("postgres (connection string from $PG)", false, false, "audit.postgres.connection_string_env: environment variable PG is not set"));
        Assert.Equal(PostureStatus.Fail, unreachable.Checks.Single(c => c.Id == "audit.store").Status);
        Assert.DoesNotContain(unreachable.Checks, c => c.Id == "audit.chain");

        var badRules = Report(Config(good), rules: new RulesProbe(false, null, 0, "inspection.rule_packs: /srv/org.toml: line 3: bad regex"));
        Assert.Equal(PostureStatus.Fail, badRules.Checks.Single(c => c.Id == "inspection.rules").Status);
        Assert.Equal(PostureStatus.Fail, badRules.Checklist.Single(c => c.Id == "checklist.input_restrictions").Status);
    }

    [Fact]
    public void Offline_leaves_live_checks_unknown_and_vendor_routes_fail_at_level_one()
    {
        var vendor = """
            level: 1
            upstreams:
              - name: anthropic
                kind: messages
                url: https://10.0.0.5
                api_key_env: ANTHROPIC_API_KEY
            routes:
              - models: ["*"]
                upstream: anthropic
            claude_code:
              cleanup_period_days: 60
            """;
        // Startup refuses a vendor upstream at every level; posture reports such a file from the same checks instead of refusing it.
        var parsed = Config(vendor);
        var config = parsed with { Upstreams = [parsed.Upstreams[0] with { Kind = UpstreamKind.Anthropic, Url = new Uri("https://api.anthropic.com") }] };
        var report = PostureBuilder.Build(config, new PostureInputs
        {
            EgressChecks = PostureEgress.From(EgressEvaluator.Evaluate(config)),
            GeneratedAt = DateTimeOffset.UnixEpoch,
            Offline = true,
        });
        Assert.Equal(PostureStatus.Unknown, report.Checks.Single(c => c.Id == "audit.store").Status);
        Assert.Equal(PostureStatus.Unknown, report.Checks.Single(c => c.Id == "inspection.rules").Status);
        Assert.Equal(PostureStatus.Fail, report.Checks.Single(c => c.Id == "upstream.kind").Status);
        Assert.Equal(PostureStatus.Fail, report.Checklist.Single(c => c.Id == "checklist.access_route").Status);
        Assert.Equal(PostureStatus.Fail, report.Checklist.Single(c => c.Id == "checklist.retention").Status);
        var facts = Assert.Single(report.Upstreams);
        Assert.StartsWith("0–30 days", facts.Retention, StringComparison.Ordinal);
        Assert.Equal("not used for training under commercial terms", facts.Training);
        Assert.Contains("(offline", PostureRenderer.Markdown(report), StringComparison.Ordinal);
    }
}
