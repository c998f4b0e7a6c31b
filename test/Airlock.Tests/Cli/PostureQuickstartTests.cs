using System.Text.Json;

namespace Airlock.Tests.Cli;

/// <summary>
/// What a newcomer sees from <c>airlock posture</c> after the README's quickstart, run as the real CLI process: the trial
/// with <c>ANTHROPIC_API_KEY</c> declares no level (a direct vendor route, which every level forbids), says so, and fails
/// (exit 1), as the README states; the simulated quickstart declares level 1; a deployment's <c>airlock.yaml</c> with a
/// level passes the level check.
/// </summary>
public sealed class PostureQuickstartTests : IDisposable
{
    private readonly string _work = Path.Combine(Path.GetTempPath(), "airlock-posture-" + Guid.NewGuid().ToString("N"));

    public PostureQuickstartTests() => Directory.CreateDirectory(_work);

    public void Dispose()
    {
        try
        {
            Directory.Delete(_work, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task The_vendor_key_quickstart_is_reported_as_an_undeclared_trial_and_fails()
    {
        var (exit, stdout, _) = await RunAsync(new() { ["ANTHROPIC_API_KEY"] = "sk-ant-api03-quickstart-test-key" }, "posture", "--offline", "--format", "json");

        Assert.Equal(1, exit);
        using var report = JsonDocument.Parse(stdout);
        var root = report.RootElement;
        Assert.Equal(0, root.GetProperty("level").GetInt32());
        Assert.True(root.GetProperty("trial").GetBoolean());
        Assert.False(root.GetProperty("passed").GetBoolean());
        var declared = Check(root, "level.declared");
        Assert.Equal("fail", declared.GetProperty("status").GetString());
        Assert.Contains("quickstart trial", declared.GetProperty("evidence").GetString(), StringComparison.Ordinal);
        Assert.Contains("expected for a trial", declared.GetProperty("fix").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("sk-ant-api03", stdout, StringComparison.Ordinal);

        var (_, markdown, _) = await RunAsync(new() { ["ANTHROPIC_API_KEY"] = "sk-ant-api03-quickstart-test-key" }, "posture", "--offline");
        Assert.Contains("Declared data-egress level: **no level declared (quickstart trial: not a deployment)**", markdown, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_simulated_quickstart_declares_level_1_and_a_deployment_file_passes_the_level_check()
    {
        var (_, simulated, _) = await RunAsync([], "posture", "--offline", "--format", "json");
        using (var report = JsonDocument.Parse(simulated))
        {
            Assert.Equal(1, report.RootElement.GetProperty("level").GetInt32());
            Assert.Equal("pass", Check(report.RootElement, "level.declared").GetProperty("status").GetString());
        }

        await File.WriteAllTextAsync(Path.Combine(_work, "airlock.yaml"), """
            level: 3
            upstreams:
              - name: ollama
                kind: messages
                url: http://127.0.0.1:11434
            routes:
              - models: "*"
                upstream: ollama
            """);
        var (_, deployment, _) = await RunAsync([], "posture", "--offline", "--format", "json");
        using (var report = JsonDocument.Parse(deployment))
        {
            Assert.Equal(3, report.RootElement.GetProperty("level").GetInt32());
            Assert.False(report.RootElement.GetProperty("trial").GetBoolean());
            Assert.Equal("pass", Check(report.RootElement, "level.declared").GetProperty("status").GetString());
        }
    }

    private static JsonElement Check(JsonElement root, string id) =>
        root.GetProperty("checks").EnumerateArray().Single(c => c.GetProperty("id").GetString() == id);

    /// <summary>Runs the CLI with only what the test sets deciding the quickstart's upstream.</summary>
    private async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(Dictionary<string, string> environment, params string[] args)
    {
        var variables = new Dictionary<string, string?> { ["ANTHROPIC_API_KEY"] = null, ["AIRLOCK_UPSTREAM_URL"] = null, ["AIRLOCK_UPSTREAM_API_KEY"] = null };
        foreach (var (name, value) in environment)
        {
            variables[name] = value;
        }
        var result = await AirlockCli.RunAsync(_work, variables, args);
        return (result.ExitCode, result.Output, result.Error);
    }
}
