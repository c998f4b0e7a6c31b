using System.Text;
using Airlock.Inspection.Messages;
using Airlock.Inspection.Policy;
using Airlock.Inspection.Tests.Messages.Fakes;

namespace Airlock.Inspection.Tests.Messages;

/// <summary>
/// A remembered walk is found again by a seeded XXH3 hash of the bytes it covered. For inputs of at most 240 bytes XXH3
/// has published collision families (Cyan4973/xxHash#1127), so no memo is keyed on fewer than
/// <see cref="ConversationPrefixMemo.MinKeyedBytes"/> bytes: such members and conversation heads are walked every time.
/// </summary>
public class MemoKeyLengthTests
{
    [Fact]
    public void A_short_system_prompt_is_walked_on_every_turn_and_a_long_one_is_replayed()
    {
        var scanner = new CountingScanner(RegexTextScanner.CreateDefault());
        var inspector = new MessagesRequestInspector(scanner, FakeSecrets.Hasher());
        var token = FakeSecrets.Create(new Random(3));
        // "system":"short <token>" is well under 241 bytes; the long prompt is over.
        var shortBody = Encoding.UTF8.GetBytes($$"""{"system":"short {{token}}","messages":[{"role":"user","content":"hi"}]}""");
        var longBody = Encoding.UTF8.GetBytes($$"""{"system":"long {{token}} {{new string('x', 300)}}","messages":[{"role":"user","content":"hi"}]}""");

        for (var turn = 0; turn < 3; turn++)
        {
            Assert.Contains(inspector.Inspect(shortBody, null, InspectionPolicy.Default).Findings, f => f.Location == "system");
            Assert.Contains(inspector.Inspect(longBody, null, InspectionPolicy.Default).Findings, f => f.Location == "system");
        }

        Assert.Equal(3, scanner.Scans("short "));
        Assert.Equal(1, scanner.Scans("long "));
    }

    [Fact]
    public void A_conversation_whose_first_elements_are_short_is_not_keyed_on_them()
    {
        var inspector = new MessagesRequestInspector(RegexTextScanner.CreateDefault(), FakeSecrets.Hasher());
        var shortHead = Encoding.UTF8.GetBytes("""{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]}""");
        var longHead = Encoding.UTF8.GetBytes($$"""{"messages":[{"role":"user","content":"{{new string('y', 300)}}"},{"role":"assistant","content":"hello"}]}""");

        inspector.Inspect(shortHead, null, InspectionPolicy.Default);
        inspector.Inspect(shortHead, null, InspectionPolicy.Default);
        Assert.Equal(0, inspector.ResumedTurns);

        inspector.Inspect(longHead, null, InspectionPolicy.Default);
        inspector.Inspect(longHead, null, InspectionPolicy.Default);
        Assert.Equal(1, inspector.ResumedTurns);
    }

    /// <summary>Counts the scans of strings by their start.</summary>
    private sealed class CountingScanner(ITextScanner inner) : ITextScanner
    {
        private readonly List<string> _scanned = [];

        public int Scans(string prefix) => _scanned.Count(s => s.StartsWith(prefix, StringComparison.Ordinal));

        public void Scan(string text, List<TextMatch> results)
        {
            _scanned.Add(text);
            inner.Scan(text, results);
        }
    }
}
