using System.Text.Json;

namespace Airlock.Tests.Cli;

/// <summary>
/// Issue 5, deliverables 4 and 5 and its bad input, through the real CLI process: <c>airlock aws policy --out</c> writes the
/// three policies and <c>airlock aws lint</c> passes them; lint flags an over-broad file (exit 1, statement index and fix)
/// and refuses a malformed one (exit 2, with the reader's position); <c>airlock posture --format html --out</c> writes the
/// report; a level-3 configuration that names a cloud upstream stops posture with every violation listed (exit 2).
/// </summary>
public sealed class AwsAndPostureCommandTests : IDisposable
{
    private const string Role = "arn:aws:iam::123456789012:role/airlock-gateway";

    private const string Level2Yaml = """
        level: 2
        upstreams:
          - name: bedrock-us
            kind: bedrock
            region: us-east-1
            url: https://vpce-0a1b2c3d4e5f60718-abcdefgh.bedrock-runtime.us-east-1.vpce.amazonaws.com
            model_map:
              - match: "claude-*"
                model: "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
        routes:
          - models: ["claude-*"]
            upstream: bedrock-us
        """;

    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("airlock-aws-cli-");

    public void Dispose()
    {
        try
        {
            _work.Delete(recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task Generated_policies_are_written_to_the_out_folder_and_lint_clean()
    {
        await WriteAsync("airlock.yaml", Level2Yaml);

        var policy = await RunAsync("aws", "policy", "--out", "policies", "--role-arn", Role, "--account-id", "123456789012");

        Assert.True(policy.ExitCode == 0, policy.Error);
        string[] files = ["gateway-role-policy.json", "vpc-endpoint-policy.json", "bedrock-scp.json"];
        foreach (var file in files)
        {
            Assert.Contains("wrote " + Path.Combine("policies", file), policy.Output, StringComparison.Ordinal);
        }
        using (var role = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(_work.FullName, "policies", files[0]))))
        {
            var statement = role.RootElement.GetProperty("Statement")[0];
            Assert.Equal(["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"], statement.GetProperty("Action").EnumerateArray().Select(a => a.GetString()));
            Assert.Contains("vpce-0a1b2c3d4e5f60718", statement.GetProperty("Condition").GetRawText(), StringComparison.Ordinal);
        }

        var lint = await RunAsync(["aws", "lint", .. files.Select(f => Path.Combine("policies", f))]);
        Assert.True(lint.ExitCode == 0, lint.Output + lint.Error);
        Assert.Contains("aws lint: 0 finding(s)", lint.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_over_broad_policy_exits_1_naming_the_statement_and_a_fix()
    {
        await WriteAsync("broad.json", """
            {"Version": "2012-10-17", "Statement": [
              {"Sid": "Logs", "Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "arn:aws:logs:us-east-1:123456789012:log-group:gw:*"},
              {"Sid": "Everything", "Effect": "Allow", "Action": "bedrock:*", "Resource": "*"}
            ]}
            """);

        var result = await RunAsync("aws", "lint", "broad.json");

        Assert.Equal(1, result.ExitCode);
        var findings = result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.All(findings, f => Assert.Matches(@"^broad\.json: Statement\[\d\] \(\w+\): (high|medium) [a-z-]+: .+ Fix: .+$", f));
        var everything = findings.Where(f => f.StartsWith("broad.json: Statement[1] (Everything): ", StringComparison.Ordinal)).ToList();
        Assert.Contains(everything, f => f.Contains("high bedrock-star:", StringComparison.Ordinal));
        Assert.Contains(everything, f => f.Contains("high wildcard-resource:", StringComparison.Ordinal));
        Assert.Contains(everything, f => f.Contains("missing-source-vpce:", StringComparison.Ordinal) && f.Contains("aws:SourceVpce", StringComparison.Ordinal));
        Assert.Contains($"aws lint: {findings.Length} finding(s)", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_malformed_or_missing_policy_file_exits_2_with_its_position_even_beside_a_broad_one()
    {
        await WriteAsync("cut.json", "{\"Statement\": [");
        await WriteAsync("broad.json", """{"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}""");

        var result = await RunAsync("aws", "lint", "cut.json", "broad.json", "absent.json");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("cut.json:1:16: not valid JSON", result.Error, StringComparison.Ordinal);
        Assert.Contains("absent.json: cannot be read", result.Error, StringComparison.Ordinal);
        Assert.Contains("broad.json", result.Output, StringComparison.Ordinal);
        Assert.Contains("aws lint: ", result.Error, StringComparison.Ordinal);
        Assert.Contains("2 malformed file(s)", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Lint_without_a_file_is_a_usage_error()
    {
        var result = await RunAsync("aws", "lint");

        Assert.Equal(2, result.ExitCode);
        Assert.NotEqual("", result.Error.Trim());
    }

    [Fact]
    public async Task Policy_for_a_configuration_that_cannot_yield_a_correct_policy_exits_2_listing_every_problem()
    {
        await WriteAsync("airlock.yaml", Level2Yaml);

        var result = await RunAsync("aws", "policy", "--role-arn", "arn:aws:iam::1:user/bob", "--vpce-id", "vpc-123");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("no policy written", result.Error, StringComparison.Ordinal);
        Assert.Contains("is not an IAM role ARN", result.Error, StringComparison.Ordinal);
        Assert.Contains("'vpc-123' is not a VPC endpoint id", result.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_work.FullName, "policies")));
        Assert.DoesNotContain("\"Statement\"", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Posture_writes_the_html_report_to_the_out_file()
    {
        await WriteAsync("airlock.yaml", """
            level: 3
            upstreams:
              - name: ollama
                kind: messages
                url: http://127.0.0.1:11434
            routes:
              - models: ["*"]
                upstream: ollama
            """);

        var result = await RunAsync("posture", "--offline", "--format", "html", "--out", "posture.html");

        var html = await File.ReadAllTextAsync(Path.Combine(_work.FullName, "posture.html"));
        Assert.StartsWith("<!DOCTYPE html>", html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("<svg", html, StringComparison.Ordinal);
        Assert.Contains("id=\"data-flow\"", html, StringComparison.Ordinal);
        Assert.Contains("ollama", html, StringComparison.Ordinal);
        Assert.Contains("posture: wrote posture.html", result.Output + result.Error, StringComparison.Ordinal);
        // The exit code is the gate: 1 exactly when the report says a check failed (the JSON of the same run says which).
        var json = await RunAsync("posture", "--offline", "--format", "json");
        using var report = JsonDocument.Parse(json.Output);
        var passed = report.RootElement.GetProperty("passed").GetBoolean();
        Assert.Equal(passed ? 0 : 1, result.ExitCode);
        Assert.Equal(result.ExitCode, json.ExitCode);
        Assert.Contains(passed ? "<p id=\"result\" class=\"passed\">" : "<p id=\"result\" class=\"failed\">", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Posture_refuses_a_level_3_configuration_naming_cloud_upstreams_listing_each()
    {
        await WriteAsync("airlock.yaml", """
            level: 3
            upstreams:
              - name: ollama
                kind: messages
                url: http://127.0.0.1:11434
              - name: bedrock
                kind: bedrock
                region: us-east-1
              - name: vertex
                kind: vertex
                region: us-east5
                project: corp-ai
            routes:
              - models: ["*"]
                upstream: [ollama, bedrock, vertex]
            """);

        var result = await RunAsync("posture", "--offline", "--format", "json");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("upstreams[1] (bedrock)", result.Error, StringComparison.Ordinal);
        Assert.Contains("upstreams[2] (vertex)", result.Error, StringComparison.Ordinal);
    }

    private Task WriteAsync(string name, string text) => File.WriteAllTextAsync(Path.Combine(_work.FullName, name), text);

    private Task<CliResult> RunAsync(params string[] args) =>
        AirlockCli.RunAsync(_work.FullName, new Dictionary<string, string?> { ["ANTHROPIC_API_KEY"] = null, ["AIRLOCK_UPSTREAM_URL"] = null }, args);
}
