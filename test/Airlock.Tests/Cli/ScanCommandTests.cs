using System.Security.Cryptography;
using System.Text.Json;

namespace Airlock.Tests.Cli;

/// <summary>
/// Issue 3, deliverable 10: <c>airlock scan PATH…</c> run as the real CLI process on a repository a test writes. It honours
/// <c>.gitignore</c> unless told not to, writes text, JSON and SARIF (to standard output or <c>--out</c>), never prints a
/// value, and its exit code is what CI reads: 0 clean, 1 findings, 2 usage error (never 1 for a mistyped command line,
/// which would read as "findings", and never 0 for a path that does not exist, which would pass silently).
/// </summary>
public sealed class ScanCommandTests : IDisposable
{
    private readonly DirectoryInfo _repository = Directory.CreateTempSubdirectory("airlock-scan-");

    // Format-valid FAKE values, new on every run.
    private readonly string _awsKeyId = "AKIA" + RandomNumberGenerator.GetString("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16);
    private readonly string _stripeKey = "sk_live_" + RandomNumberGenerator.GetString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 32);

    public ScanCommandTests()
    {
        Directory.CreateDirectory(Path.Combine(_repository.FullName, ".git"));
        Directory.CreateDirectory(Path.Combine(_repository.FullName, "src"));
        Directory.CreateDirectory(Path.Combine(_repository.FullName, "build"));
        File.WriteAllText(Path.Combine(_repository.FullName, ".gitignore"), "# generated\nbuild/\n");
        File.WriteAllText(Path.Combine(_repository.FullName, "src", "deploy.py"), $"import boto3\n\nKEY_ID = \"{_awsKeyId}\"\n");
        File.WriteAllText(Path.Combine(_repository.FullName, "build", "settings.env"), $"STRIPE_KEY={_stripeKey}\n");
        File.WriteAllText(Path.Combine(_repository.FullName, "README.md"), "# Demo\n\nNothing secret here: AKIAIOSFODNN7EXAMPLE is the documentation key.\n");
    }

    public void Dispose()
    {
        try
        {
            _repository.Delete(recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task Findings_exit_1_with_path_line_and_rule_and_gitignored_files_are_left_out_unless_asked()
    {
        var result = await ScanAsync(".");

        Assert.Equal(1, result.ExitCode);
        var lines = result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var finding = Assert.Single(lines, l => l.Contains(": aws-access-key-id ", StringComparison.Ordinal));
        Assert.StartsWith(Path.Combine("src", "deploy.py") + ":3:11: aws-access-key-id [secret, ", finding, StringComparison.Ordinal);
        Assert.DoesNotContain("settings.env", result.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("README.md:", result.Output, StringComparison.Ordinal);
        AssertNoValue(result.Output + result.Error);

        var all = await ScanAsync(".", "--no-gitignore");
        Assert.Equal(1, all.ExitCode);
        Assert.Contains(all.Output.Split('\n'), l => l.StartsWith(Path.Combine("build", "settings.env") + ":1:12: stripe", StringComparison.Ordinal));
        AssertNoValue(all.Output + all.Error);
    }

    [Fact]
    public async Task Sarif_goes_to_the_out_file_in_the_2_1_0_shape_with_rule_and_region_and_no_value()
    {
        var sarifPath = Path.Combine(_repository.FullName, "..", _repository.Name + ".sarif");
        try
        {
            var result = await ScanAsync(".", "--format", "sarif", "--out", sarifPath);

            Assert.Equal(1, result.ExitCode);
            Assert.Equal("", result.Output.Trim());
            var text = await File.ReadAllTextAsync(sarifPath);
            AssertNoValue(text);
            using var sarif = JsonDocument.Parse(text);
            Assert.Equal("2.1.0", sarif.RootElement.GetProperty("version").GetString());
            var run = Assert.Single(sarif.RootElement.GetProperty("runs").EnumerateArray());
            Assert.Equal("airlock", run.GetProperty("tool").GetProperty("driver").GetProperty("name").GetString(), ignoreCase: true);
            var sarifResult = Assert.Single(run.GetProperty("results").EnumerateArray());
            Assert.Equal("aws-access-key-id", sarifResult.GetProperty("ruleId").GetString());
            var location = sarifResult.GetProperty("locations")[0].GetProperty("physicalLocation");
            Assert.Equal("src/deploy.py", location.GetProperty("artifactLocation").GetProperty("uri").GetString());
            Assert.Equal(3, location.GetProperty("region").GetProperty("startLine").GetInt32());
            Assert.Equal(11, location.GetProperty("region").GetProperty("startColumn").GetInt32());
        }
        finally
        {
            File.Delete(sarifPath);
        }
    }

    [Fact]
    public async Task Json_lists_each_finding_with_its_keyed_hash_never_the_value()
    {
        var result = await ScanAsync("src", "--format", "json");

        Assert.Equal(1, result.ExitCode);
        AssertNoValue(result.Output);
        using var report = JsonDocument.Parse(result.Output);
        Assert.Equal(1, report.RootElement.GetProperty("filesScanned").GetInt32());
        var finding = Assert.Single(report.RootElement.GetProperty("findings").EnumerateArray());
        Assert.Equal("aws-access-key-id", finding.GetProperty("ruleId").GetString());
        Assert.Equal("redact", finding.GetProperty("action").GetString());
        Assert.Matches("^[0-9a-f]{64}$", finding.GetProperty("valueHash").GetString());
    }

    [Fact]
    public async Task A_clean_tree_exits_0()
    {
        var result = await ScanAsync("README.md");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("0 finding(s) in 1 file(s) scanned", result.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--format", "xml", ".")]
    [InlineData("--max-file-bytes", "many", ".")]
    public async Task A_mistyped_command_line_is_a_usage_error_not_a_finding(params string[] args)
    {
        var result = await ScanAsync(args);

        Assert.Equal(2, result.ExitCode);
        Assert.NotEqual("", result.Error.Trim());
    }

    [Fact]
    public async Task A_path_that_does_not_exist_is_a_usage_error_not_a_clean_scan()
    {
        var result = await ScanAsync("src", "no-such-dir");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("no-such-dir", result.Error, StringComparison.Ordinal);
        AssertNoValue(result.Output + result.Error);
    }

    private void AssertNoValue(string text)
    {
        Assert.DoesNotContain(_awsKeyId, text, StringComparison.Ordinal);
        Assert.DoesNotContain(_stripeKey, text, StringComparison.Ordinal);
    }

    private Task<CliResult> ScanAsync(params string[] args) =>
        AirlockCli.RunAsync(_repository.FullName, new Dictionary<string, string?> { ["ANTHROPIC_API_KEY"] = null, ["AIRLOCK_FINDING_HASH_KEY"] = null }, ["scan", .. args]);
}
