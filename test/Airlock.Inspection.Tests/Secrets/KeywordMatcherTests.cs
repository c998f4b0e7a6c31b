namespace Airlock.Inspection.Tests.Secrets;

public class KeywordMatcherTests
{
    [Fact]
    public void Finds_every_occurrence_of_every_keyword_ignoring_ascii_case_like_an_ordinal_search()
    {
        string[] keywords = ["key", "key-", "token", "ghp_", "sk-ant-", "-----begin", "eyj", "x", "é"];
        var matcher = new KeywordMatcher(keywords);
        var random = new Random(7);
        const string Alphabet = "keyKEYtokenTOKENghp_sk-ant-BEGIN----- eyJxé\nab";
        for (var round = 0; round < 200; round++)
        {
            var text = new string(Enumerable.Range(0, random.Next(0, 120)).Select(_ => Alphabet[random.Next(Alphabet.Length)]).ToArray());
            var hits = new List<KeywordHit>();

            matcher.FindAll(text, hits);

            // Reference: every (position, keyword) where the keyword starts, by a plain ordinal-ignore-case compare.
            var expected = new List<(int, int)>();
            for (var p = 0; p < text.Length; p++)
            {
                for (var k = 0; k < keywords.Length; k++)
                {
                    if (text.AsSpan(p).StartsWith(keywords[k], StringComparison.OrdinalIgnoreCase))
                    {
                        expected.Add((p, k));
                    }
                }
            }

            Assert.Equal(expected.OrderBy(e => e.Item1).ThenBy(e => e.Item2), hits.Select(h => (h.Position, h.Keyword)).OrderBy(e => e.Item1).ThenBy(e => e.Item2));
        }
    }

    [Fact]
    public void Hits_are_ordered_by_position()
    {
        var matcher = new KeywordMatcher(["secret", "api"]);
        var hits = new List<KeywordHit>();

        matcher.FindAll("API_SECRET = api.secret", hits);

        Assert.Equal([0, 4, 13, 17], hits.Select(h => h.Position));
        Assert.Equal([1, 0, 1, 0], hits.Select(h => h.Keyword));
    }
}
