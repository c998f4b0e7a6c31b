namespace Airlock.Inspection;

/// <summary>
/// Global filter for values that look like a secret's shape but are obviously not one: templates
/// (<c>${X}</c>, <c>{{x}}</c>, <c>%X%</c>, <c>$VAR</c>, <c>&lt;your-key&gt;</c>), fill-ins (<c>xxxxx</c>, <c>*****</c>),
/// documentation keys (<c>AKIAIOSFODNN7EXAMPLE</c>), literals (true/false/null…), runs of one character
/// and straight sequences. Applied to the secret group of every secret rule.
/// </summary>
public static class PlaceholderFilter
{
    private static readonly string[] s_literals =
    [
        "true", "false", "null", "nil", "none", "undefined", "changeme", "change_me", "placeholder",
        "redacted", "secret", "password", "token", "dummy", "example", "sample", "test", "todo", "tbd",
    ];

    private static readonly string[] s_fillInPrefixes = ["your_", "your-", "yourapi", "yourkey", "yoursecret", "yourtoken", "insert_", "insert-", "replace_", "replace-"];

    public static bool IsPlaceholder(ReadOnlySpan<char> value)
    {
        value = value.Trim().Trim("'\"`");
        if (value.IsEmpty)
        {
            return true;
        }

        foreach (var literal in s_literals)
        {
            if (value.Equals(literal, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        foreach (var prefix in s_fillInPrefixes)
        {
            if (value.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        // Templates: ${X}, {{ x }}, %X%, <your-key>, $VAR.
        if (value.Contains("${", StringComparison.Ordinal) || value.Contains("{{", StringComparison.Ordinal)
            || (value.Length > 2 && value[0] == '%' && value[^1] == '%')
            || (value.Length > 2 && value[0] == '<' && value[^1] == '>')
            || (value.Length > 1 && value[0] == '$' && IsIdentifier(value[1..])))
        {
            return true;
        }

        // Documentation keys (AWS publishes AKIAIOSFODNN7EXAMPLE and wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY).
        if (value.Contains("EXAMPLE", StringComparison.Ordinal))
        {
            return true;
        }

        return HasFillInRun(value) || IsLowVariety(value) || IsStraightSequence(value);
    }

    private static bool IsIdentifier(ReadOnlySpan<char> value)
    {
        foreach (var ch in value)
        {
            if (!char.IsAsciiLetterOrDigit(ch) && ch != '_')
            {
                return false;
            }
        }

        return true;
    }

    // Five or more x/X/* in a row: "sk-xxxxxxxxxxxx", "ghp_****". For a random base62 token the chance of
    // such a run is about 40 * (2/62)^5 ≈ 1.4e-6, an acceptable miss rate for a very common placeholder.
    private static bool HasFillInRun(ReadOnlySpan<char> value)
    {
        var run = 0;
        foreach (var ch in value)
        {
            run = ch is 'x' or 'X' or '*' or '#' or '.' ? run + 1 : 0;
            if (run >= 5)
            {
                return true;
            }
        }

        return false;
    }

    // "aaaaaaaa", "abababab", "00000000": at most two distinct characters in eight or more.
    private static bool IsLowVariety(ReadOnlySpan<char> value)
    {
        if (value.Length < 8)
        {
            return false;
        }

        var first = value[0];
        var second = first;
        foreach (var ch in value)
        {
            if (ch == first || ch == second)
            {
                continue;
            }

            if (second != first)
            {
                return false;
            }

            second = ch;
        }

        return true;
    }

    // "0123456789abcdef", "abcdefgh", "987654321": each character the next (or previous) one in 0-9a-z.
    private static bool IsStraightSequence(ReadOnlySpan<char> value)
    {
        if (value.Length < 6)
        {
            return false;
        }

        var step = SequenceIndex(value[1]) - SequenceIndex(value[0]);
        if (step is not (1 or -1) || SequenceIndex(value[0]) < 0)
        {
            return false;
        }

        for (var i = 2; i < value.Length; i++)
        {
            var current = SequenceIndex(value[i]);
            if (current < 0 || current - SequenceIndex(value[i - 1]) != step)
            {
                return false;
            }
        }

        return true;
    }

    private static int SequenceIndex(char ch) => ch switch
    {
        >= '0' and <= '9' => ch - '0',
        >= 'a' and <= 'z' => ch - 'a' + 10,
        >= 'A' and <= 'Z' => ch - 'A' + 10,
        _ => -100,
    };
}
