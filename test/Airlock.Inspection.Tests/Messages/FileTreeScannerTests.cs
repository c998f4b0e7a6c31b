using System.Text;
using System.Text.Json;
using Airlock.Inspection.Files;
using Airlock.Inspection.Policy;
using Airlock.Inspection.Tests.Messages.Fakes;

namespace Airlock.Inspection.Tests.Messages;

public sealed class FileTreeScannerTests : IDisposable
{
    private static readonly FindingHasher Hasher = FakeSecrets.Hasher();
    private readonly string _root = Path.Combine(Path.GetTempPath(), "airlock-scan-" + Guid.NewGuid().ToString("N"));
    private readonly Random _random = new(42);

    public FileTreeScannerTests()
    {
        Directory.CreateDirectory(_root);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void Honors_gitignore_files_at_every_level_and_skips_dot_git()
    {
        Directory.CreateDirectory(Path.Combine(_root, ".git"));
        Write(".gitignore", "*.env\n!example.env\nbuild/\n/secret-root.txt\n");
        Write("src/.gitignore", "generated/\n!keep.env\n");
        string[] kept = ["example.env", "src/app.ts", "src/keep.env", "nested/secret-root.txt"];
        string[] ignored = [".git/config", "prod.env", "src/prod.env", "build/out.js", "src/build/x.js", "src/generated/a.ts", "secret-root.txt"];
        var tokens = new Dictionary<string, string>();
        foreach (var path in kept.Concat(ignored))
        {
            tokens[path] = FakeSecrets.Create(_random);
            Write(path, "line one\nconst key = \"" + tokens[path] + "\";\n");
        }

        var report = Scan(_root);

        Assert.Equal(kept.Select(p => Display(p)).OrderBy(p => p, StringComparer.Ordinal), report.Findings.Select(f => f.Path).OrderBy(p => p, StringComparer.Ordinal));
        Assert.All(report.Findings, f => Assert.Equal((2, 14), (f.Line, f.Column)));
        Assert.Equal(kept.Length + 2, report.FilesScanned);
    }

    [Fact]
    public void Scanning_a_sub_folder_still_honors_the_repository_gitignore()
    {
        Directory.CreateDirectory(Path.Combine(_root, ".git"));
        Write(".gitignore", "sub/ignored/\n*.tmp\n");
        Write("sub/ignored/a.txt", FakeSecrets.Create(_random));
        Write("sub/b.tmp", FakeSecrets.Create(_random));
        Write("sub/c.txt", FakeSecrets.Create(_random));

        var report = Scan(Path.Combine(_root, "sub"));

        Assert.Equal(Path.Combine(_root, "sub").Replace('\\', '/') + "/c.txt", Assert.Single(report.Findings).Path);
    }

    [Fact]
    public void A_pathological_gitignore_pattern_gives_the_right_verdicts_in_bounded_time()
    {
        // "*a*a…*b" against a long run of 'a' backtracks past the matcher's timeout; the scan must neither crash nor
        // stall, and must still ignore exactly what git would.
        Directory.CreateDirectory(Path.Combine(_root, ".git"));
        var pattern = string.Concat(Enumerable.Repeat("*a", 14)) + "*b";
        Write(".gitignore", pattern + "\n");
        var kept = new string('a', 60) + ".txt";
        var ignored = new string('a', 20) + "b";
        Write(kept, "const key = \"" + FakeSecrets.Create(_random) + "\";\n");
        Write(ignored, "const key = \"" + FakeSecrets.Create(_random) + "\";\n");
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var report = Scan(_root);

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"scan took {clock.Elapsed}");
        Assert.Equal(Display(kept), Assert.Single(report.Findings).Path);
    }

    [Fact]
    public void Gitignore_can_be_turned_off_and_extra_excludes_added()
    {
        Write(".gitignore", "*.env\n");
        Write("a.env", FakeSecrets.Create(_random));
        Write("vendor/lib.js", FakeSecrets.Create(_random));
        Write("main.js", FakeSecrets.Create(_random));

        var report = FileTreeScanner.Scan([_root], new FileScanOptions
        {
            Scanner = RegexTextScanner.CreateDefault(),
            Hasher = Hasher,
            RespectGitignore = false,
            ExcludePatterns = ["vendor/"],
        });

        Assert.Equal([Display("a.env"), Display("main.js")], report.Findings.Select(f => f.Path));
    }

    [Fact]
    public void Binary_and_oversized_files_are_skipped_and_reported()
    {
        string token = FakeSecrets.Create(_random);
        var binary = Encoding.ASCII.GetBytes("PNG\0\0" + token).ToList();
        File.WriteAllBytes(Path.Combine(_root, "image.png"), [.. binary]);
        Write("big.txt", token + new string('x', 5000));
        Write("small.txt", token);

        var report = FileTreeScanner.Scan([_root, Path.Combine(_root, "missing.txt")], new FileScanOptions
        {
            Scanner = RegexTextScanner.CreateDefault(),
            Hasher = Hasher,
            MaxFileBytes = 1000,
        });

        Assert.Equal(Display("small.txt"), Assert.Single(report.Findings).Path);
        Assert.Contains(report.Skipped, s => s.Path == Display("image.png") && s.Reason == SkipReason.Binary);
        Assert.Contains(report.Skipped, s => s.Path == Display("big.txt") && s.Reason == SkipReason.TooLarge && s.Size > 5000);
        Assert.Contains(report.Skipped, s => s.Reason == SkipReason.NotFound);
    }

    [Fact]
    public void Line_and_column_are_one_based_in_utf16_units_after_unicode_and_crlf()
    {
        string token = FakeSecrets.Create(_random);
        Write("x.txt", "first\r\nsécond 🚀\r\n\tk=" + token + "\r\n");

        var finding = Assert.Single(Scan(_root).Findings);

        Assert.Equal(3, finding.Line);
        Assert.Equal(4, finding.Column);
        Assert.Equal(3, finding.EndLine);
        Assert.Equal(4 + token.Length, finding.EndColumn);
        Assert.Equal(Hasher.Hash(token), finding.ValueHash);
    }

    [Fact]
    public void Sarif_report_has_the_2_1_0_shape_and_no_values()
    {
        var tokens = new[] { FakeSecrets.Create(_random), FakeSecrets.Create(_random) };
        Write("dir with space/a.ts", "x\n  " + tokens[0]);
        Write("b.txt", "mail dev@example.test\n" + tokens[1]);
        File.WriteAllBytes(Path.Combine(_root, "bin.dat"), [1, 0, 2]);
        var report = Scan(_root);

        using var stream = new MemoryStream();
        SarifReport.Write(report, stream);
        string text = Encoding.UTF8.GetString(stream.ToArray());
        using var doc = JsonDocument.Parse(text);
        var sarif = doc.RootElement;

        Assert.Equal("2.1.0", sarif.GetProperty("version").GetString());
        Assert.Equal(SarifReport.SchemaUri, sarif.GetProperty("$schema").GetString());
        var run = Assert.Single(sarif.GetProperty("runs").EnumerateArray());
        Assert.Equal("utf16CodeUnits", run.GetProperty("columnKind").GetString());
        var driver = run.GetProperty("tool").GetProperty("driver");
        Assert.Equal("airlock", driver.GetProperty("name").GetString());
        var ruleIds = driver.GetProperty("rules").EnumerateArray().Select(r => r.GetProperty("id").GetString()).ToList();
        Assert.Equal(["fake-email", FakeSecrets.TokenRule], ruleIds);

        var results = run.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(3, results.Count);
        foreach (var result in results)
        {
            string ruleId = result.GetProperty("ruleId").GetString()!;
            Assert.Equal(ruleId, ruleIds[result.GetProperty("ruleIndex").GetInt32()]);
            Assert.False(string.IsNullOrEmpty(result.GetProperty("message").GetProperty("text").GetString()));
            Assert.Equal(64, result.GetProperty("partialFingerprints").GetProperty("airlockValueHash/v1").GetString()!.Length);
        }

        var tokenInA = results.Single(r => r.GetProperty("locations")[0].GetProperty("physicalLocation").GetProperty("artifactLocation").GetProperty("uri").GetString()!.EndsWith("a.ts", StringComparison.Ordinal));
        var location = tokenInA.GetProperty("locations")[0].GetProperty("physicalLocation");
        Assert.Equal(new Uri(Path.Combine(_root, "dir with space", "a.ts")).AbsoluteUri, location.GetProperty("artifactLocation").GetProperty("uri").GetString());
        Assert.Equal(2, location.GetProperty("region").GetProperty("startLine").GetInt32());
        Assert.Equal(3, location.GetProperty("region").GetProperty("startColumn").GetInt32());
        Assert.Equal("error", tokenInA.GetProperty("level").GetString());

        var notification = Assert.Single(run.GetProperty("invocations")[0].GetProperty("toolExecutionNotifications").EnumerateArray());
        Assert.Equal("skipped: binary", notification.GetProperty("message").GetProperty("text").GetString());

        Assert.DoesNotContain(tokens[0], text, StringComparison.Ordinal);
        Assert.DoesNotContain(tokens[1], text, StringComparison.Ordinal);
        Assert.DoesNotContain("dev@example.test", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Text_and_json_reports_carry_hashes_not_values()
    {
        string token = FakeSecrets.Create(_random);
        Write("s.env", "TOKEN=" + token + "\n");
        var report = Scan(_root);

        var writer = new StringWriter();
        TextReport.Write(report, writer);
        using var stream = new MemoryStream();
        JsonReport.Write(report, stream);
        string json = Encoding.UTF8.GetString(stream.ToArray());

        Assert.Contains($"{Display("s.env")}:1:7: fake-token", writer.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(token, writer.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(token, json, StringComparison.Ordinal);
        using var doc = JsonDocument.Parse(json);
        var finding = Assert.Single(doc.RootElement.GetProperty("findings").EnumerateArray());
        Assert.Equal(Hasher.Hash(token), finding.GetProperty("valueHash").GetString());
        Assert.Equal("redact", finding.GetProperty("action").GetString());
        Assert.Equal(1, doc.RootElement.GetProperty("filesScanned").GetInt32());
    }

    private static FileScanReport Scan(string root) =>
        FileTreeScanner.Scan([root], new FileScanOptions { Scanner = RegexTextScanner.CreateDefault(), Hasher = Hasher });

    private string Display(string relative) => _root.Replace('\\', '/') + "/" + relative;

    private void Write(string relative, string content)
    {
        string path = Path.Combine(_root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
    }
}
