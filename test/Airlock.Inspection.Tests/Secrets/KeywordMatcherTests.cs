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
    public void Built_in_keywords_are_found_like_an_ordinal_search_including_folding_lookalikes_and_text_ends()
    {
        // The matcher folds four characters at a time into a hashed bitmap test; characters outside ASCII fold onto
        // ASCII values (e.g. U+212A KELVIN SIGN and U+017F LONG S), which may only add candidates, never hits.
        var keywords = RulePack.LoadBuiltIn().Rules.SelectMany(r => r.Keywords).Distinct(StringComparer.Ordinal).ToArray();
        var matcher = new KeywordMatcher(keywords);
        var random = new Random(11);
        var pieces = keywords.Concat(["\u212A", "\u017F", "\u0130", "\u00E9", "\uFF4B", " ", "\n", "_", "=", "\"", "K", "E", "y"]).ToArray();
        for (var round = 0; round < 300; round++)
        {
            var sb = new System.Text.StringBuilder();
            var parts = random.Next(0, 12);
            for (var i = 0; i < parts; i++)
            {
                var piece = pieces[random.Next(pieces.Length)];
                // Random case, and sometimes only a prefix of a keyword (texts ending inside a keyword).
                piece = new string([.. piece.Select(c => random.Next(2) == 0 ? char.ToUpperInvariant(c) : c)]);
                sb.Append(random.Next(5) == 0 ? piece[..random.Next(piece.Length + 1)] : piece);
            }

            var text = sb.ToString();
            var hits = new List<KeywordHit>();

            matcher.FindAll(text, hits);

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
            Assert.Equal(hits.Select(h => h.Position).Order(), hits.Select(h => h.Position));
        }
    }

    [Theory]
    [InlineData("key", 0)]
    [InlineData("xkey", 1)]
    [InlineData("KEYS", 0)]
    [InlineData("ke", -1)]
    public void Keywords_at_the_very_end_of_the_text_are_found(string text, int expected)
    {
        var matcher = new KeywordMatcher(["key", "keys-long"]);
        var hits = new List<KeywordHit>();

        matcher.FindAll(text, hits);

        Assert.Equal(expected < 0 ? [] : [expected], hits.Select(h => h.Position));
    }

    [Fact]
    public void Longer_keywords_come_first_at_one_position()
    {
        var matcher = new KeywordMatcher(["key", "key_id", "keyword"]);
        var hits = new List<KeywordHit>();

        matcher.FindAll("a keyword", hits);

        Assert.Equal([2, 0], hits.Select(h => h.Keyword));
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

public class KeywordMatcherVectorTests
{
    /// <summary>
    /// The AVX2 path tests eight positions per step and leaves the last few to the scalar loop: on long texts with
    /// keywords at every offset (block edges included), random case and non-ASCII look-alikes, it must report exactly
    /// what the scalar path and a naive ordinal-ignore-case search report.
    /// </summary>
    [Fact]
    public void Vector_and_scalar_paths_find_what_a_naive_search_finds_on_long_texts()
    {
        var keywords = RulePack.LoadBuiltIn().Rules.SelectMany(r => r.Keywords).Distinct(StringComparer.Ordinal).ToArray();
        var vector = new KeywordMatcher(keywords);
        var scalar = new KeywordMatcher(keywords, useVector: false);
        var random = new Random(20261124);
        var filler = new[] { " ", "\n", "_", "=", "\"", ": ", "x", "0", "\u212A", "\u017F", "\u00E9", "sec", "tok", "pas", "aut", "ke" };
        var total = 0;
        for (var round = 0; round < 60; round++)
        {
            var sb = new System.Text.StringBuilder();
            var target = random.Next(0, 4000);
            while (sb.Length < target)
            {
                var piece = random.Next(3) == 0 ? keywords[random.Next(keywords.Length)] : filler[random.Next(filler.Length)];
                piece = new string([.. piece.Select(c => random.Next(2) == 0 ? char.ToUpperInvariant(c) : c)]);
                sb.Append(random.Next(6) == 0 ? piece[..random.Next(piece.Length + 1)] : piece);
            }

            var text = sb.ToString();
            var fromVector = new List<KeywordHit>();
            var fromScalar = new List<KeywordHit>();

            vector.FindAll(text, fromVector);
            scalar.FindAll(text, fromScalar);

            var expected = new List<KeywordHit>();
            for (var p = 0; p < text.Length; p++)
            {
                for (var k = 0; k < keywords.Length; k++)
                {
                    if (text.AsSpan(p).StartsWith(keywords[k], StringComparison.OrdinalIgnoreCase))
                    {
                        expected.Add(new KeywordHit(p, k));
                    }
                }
            }

            Assert.Equal(fromScalar, fromVector);
            Assert.Equal(expected.OrderBy(h => h.Position).ThenBy(h => h.Keyword), fromVector.OrderBy(h => h.Position).ThenBy(h => h.Keyword));
            total += expected.Count;
        }

        Assert.True(total > 1000, $"only {total} keyword occurrences: the texts do not exercise the matcher");
    }

    [Fact]
    public void Code_corpus_hits_are_the_same_on_both_paths()
    {
        var keywords = RulePack.LoadBuiltIn().Rules.SelectMany(r => r.Keywords).Distinct(StringComparer.Ordinal).ToArray();
        var text = string.Join('\n', Enumerable.Range(0, 400).Select(i =>
            $"const apiKey{i} = process.env.SECRET_TOKEN_{i}; // password, auth, Bearer, https://x, client_secret, key-{i:x8}"));
        var fromVector = new List<KeywordHit>();
        var fromScalar = new List<KeywordHit>();

        new KeywordMatcher(keywords).FindAll(text, fromVector);
        new KeywordMatcher(keywords, useVector: false).FindAll(text, fromScalar);

        Assert.True(fromVector.Count > 2000, $"{fromVector.Count} hits");
        Assert.Equal(fromScalar, fromVector);
    }
}
