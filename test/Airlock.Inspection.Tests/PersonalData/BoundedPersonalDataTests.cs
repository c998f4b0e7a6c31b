using System.Diagnostics;
using System.Text;
using Airlock.Inspection.Tests.Secrets;
using Xunit.Abstractions;

namespace Airlock.Inspection.Tests.PersonalData;

public class BoundedPersonalDataTests(ITestOutputHelper output)
{
    [Fact]
    public void Chunked_scanning_reports_each_match_once_across_chunk_seams()
    {
        var scanner = new PersonalDataScanner(new PersonalDataOptions { MaxStringLength = 16 * 1024 });
        var sb = new StringBuilder();
        var expected = new List<int>();
        var filler = "the quick brown fox jumps over the lazy dog. ";
        for (var i = 0; sb.Length < 200_000; i++)
        {
            sb.Append(filler);
            if (i % 97 == 0)
            {
                sb.Append("mail ");
                expected.Add(sb.Length);
                sb.Append("user").Append(i).Append("@contoso.io ");
            }
        }

        var text = sb.ToString();
        var matches = scanner.ScanAll(text);

        Assert.Equal(expected, matches.Select(m => m.Start));
        Assert.All(matches, m => Assert.Equal(PersonalDataScanner.EmailRuleId, m.RuleId));
    }

    [Fact]
    public void Input_of_32_MB_is_scanned_in_bounded_time()
    {
        var line = "2024-01-15 10:30:45.123 INFO GET /api/v1/items/42 200 1.2.3.4 elapsed=12ms user=jane.doe@contoso.io\n";
        var sb = new StringBuilder(32 * 1024 * 1024 + line.Length);
        while (sb.Length < 32 * 1024 * 1024)
        {
            sb.Append(line);
        }

        var text = sb.ToString();
        var sw = Stopwatch.StartNew();
        var matches = new PersonalDataScanner().ScanAll(text);
        sw.Stop();

        output.WriteLine($"PII over {text.Length:N0} chars of log lines: {sw.ElapsedMilliseconds} ms, {text.Length / sw.Elapsed.TotalSeconds / 1e6:F1} Mchar/s");
        Assert.Equal(text.Length / line.Length + (text.Length % line.Length == 0 ? 0 : 1), matches.Count);
        Assert.All(matches, m => Assert.Equal(PersonalDataScanner.EmailRuleId, m.RuleId));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(120), $"took {sw.Elapsed}");
    }
}
