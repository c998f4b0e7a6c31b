using System.Globalization;
using System.Text;

namespace Airlock.Inspection;

/// <summary>
/// Rewrites a Go RE2 pattern (the syntax gitleaks rule packs are written in) into a .NET pattern
/// with the same meaning. Source for Go's semantics: https://github.com/google/re2/wiki/Syntax and
/// the Go <c>regexp/syntax</c> package documentation.
/// </summary>
/// <remarks>
/// What is rewritten:
/// <list type="bullet">
/// <item><c>(?P&lt;name&gt;</c> becomes <c>(?&lt;name&gt;</c>; group numbers are remapped afterwards because .NET numbers
/// named groups after unnamed ones while Go numbers all groups left to right.</item>
/// <item><c>\w \d \s \W \D \S</c> become explicit ASCII classes (Go's are ASCII, .NET's are Unicode), inside and
/// outside character classes; POSIX classes <c>[[:alpha:]]</c> become ranges.</item>
/// <item><c>\Q…\E</c> literals, <c>\x{HHHH}</c>, <c>\pL</c>, octal escapes.</item>
/// </list>
/// Known, documented difference: <c>\b</c> and <c>\B</c> stay .NET's Unicode word boundary, because the ASCII
/// emulation needs lookarounds that <see cref="System.Text.RegularExpressions.RegexOptions.NonBacktracking"/>
/// does not support. The ungreedy flag <c>(?U)</c> has no .NET equivalent and is rejected.
/// </remarks>
internal static class GoRegexTranslator
{
    // Go: \d == [0-9], \w == [0-9A-Za-z_], \s == [\t\n\f\r ] (RE2 syntax, "Perl character classes").
    private static readonly (char Lo, char Hi)[] s_digit = [('0', '9')];
    private static readonly (char Lo, char Hi)[] s_word = [('0', '9'), ('A', 'Z'), ('_', '_'), ('a', 'z')];
    private static readonly (char Lo, char Hi)[] s_space = [('\t', '\n'), ('\f', '\r'), (' ', ' ')];

    /// <summary>Translates <paramref name="goPattern"/>; throws <see cref="FormatException"/> with a short reason.</summary>
    public static GoRegexTranslation Translate(string goPattern)
    {
        var sb = new StringBuilder(goPattern.Length + 32);
        var groups = new List<string?>();
        var unbounded = false;
        var inClass = false;
        var i = 0;
        var n = goPattern.Length;
        while (i < n)
        {
            var c = goPattern[i];
            if (c == '\\')
            {
                i = TranslateEscape(goPattern, i, inClass, sb);
                continue;
            }

            if (inClass)
            {
                if (c == '[' && i + 1 < n && goPattern[i + 1] == ':')
                {
                    var end = goPattern.IndexOf(":]", i + 2, StringComparison.Ordinal);
                    if (end < 0)
                    {
                        throw new FormatException($"unterminated POSIX class at offset {i}");
                    }

                    AppendPosixClass(goPattern.Substring(i + 2, end - i - 2), sb);
                    i = end + 2;
                    continue;
                }

                if (c == '[')
                {
                    // A literal '[' in a Go class; in .NET "-[" would start a class subtraction.
                    sb.Append("\\[");
                    i++;
                    continue;
                }

                if (c == ']')
                {
                    inClass = false;
                }

                sb.Append(c);
                i++;
                continue;
            }

            switch (c)
            {
                case '[':
                    inClass = true;
                    sb.Append('[');
                    i++;
                    if (i < n && goPattern[i] == '^')
                    {
                        sb.Append('^');
                        i++;
                    }

                    if (i < n && goPattern[i] == ']')
                    {
                        // A ']' first in a class is a literal in Go.
                        sb.Append("\\]");
                        i++;
                    }

                    continue;
                case '(':
                    i = TranslateGroupOpen(goPattern, i, sb, groups);
                    continue;
                case '*':
                case '+':
                    unbounded = true;
                    break;
                case '{':
                    if (IsOpenEndedRepeat(goPattern, i))
                    {
                        unbounded = true;
                    }

                    break;
            }

            sb.Append(c);
            i++;
        }

        if (inClass)
        {
            throw new FormatException("missing closing ]");
        }

        return new GoRegexTranslation(sb.ToString(), groups, unbounded);
    }

    private static int TranslateEscape(string p, int i, bool inClass, StringBuilder sb)
    {
        if (i + 1 >= p.Length)
        {
            throw new FormatException("trailing backslash at end of expression");
        }

        var e = p[i + 1];
        switch (e)
        {
            case 'd':
                AppendRanges(s_digit, negate: false, inClass, sb);
                return i + 2;
            case 'D':
                AppendRanges(s_digit, negate: true, inClass, sb);
                return i + 2;
            case 'w':
                AppendRanges(s_word, negate: false, inClass, sb);
                return i + 2;
            case 'W':
                AppendRanges(s_word, negate: true, inClass, sb);
                return i + 2;
            case 's':
                AppendRanges(s_space, negate: false, inClass, sb);
                return i + 2;
            case 'S':
                AppendRanges(s_space, negate: true, inClass, sb);
                return i + 2;
            case 'Q':
            {
                var end = p.IndexOf("\\E", i + 2, StringComparison.Ordinal);
                var literal = end < 0 ? p.AsSpan(i + 2) : p.AsSpan(i + 2, end - i - 2);
                foreach (var ch in literal)
                {
                    AppendLiteral(ch, sb);
                }

                return end < 0 ? p.Length : end + 2;
            }

            case 'E':
                // A stray \E outside \Q is ignored by Go.
                return i + 2;
            case 'x' when i + 2 < p.Length && p[i + 2] == '{':
            {
                var end = p.IndexOf('}', i + 3);
                if (end < 0 || !int.TryParse(p.AsSpan(i + 3, end - i - 3), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code)
                    || code > 0x10FFFF)
                {
                    throw new FormatException($"bad \\x{{…}} escape at offset {i}");
                }

                if (code <= 0xFFFF)
                {
                    AppendLiteral((char)code, sb);
                }
                else if (inClass)
                {
                    throw new FormatException($"code points above U+FFFF are not supported inside a class (offset {i})");
                }
                else
                {
                    var s = char.ConvertFromUtf32(code);
                    sb.Append("(?:");
                    AppendLiteral(s[0], sb);
                    AppendLiteral(s[1], sb);
                    sb.Append(')');
                }

                return end + 1;
            }

            case 'p' or 'P' when i + 2 < p.Length && p[i + 2] != '{':
                // Go's one-letter form \pL; .NET only knows \p{L}.
                sb.Append('\\').Append(e).Append('{').Append(p[i + 2]).Append('}');
                return i + 3;
            case >= '0' and <= '7':
            {
                // RE2 has no backreferences: \1..\7 are octal codes (up to three digits).
                var j = i + 1;
                var value = 0;
                while (j < p.Length && j < i + 4 && p[j] is >= '0' and <= '7')
                {
                    value = (value * 8) + (p[j] - '0');
                    j++;
                }

                AppendLiteral((char)value, sb);
                return j;
            }

            case '8' or '9':
                throw new FormatException($"backreferences are not supported (offset {i})");
            case 'C':
                throw new FormatException($"\\C (any byte) is not supported (offset {i})");
            default:
                sb.Append('\\').Append(e);
                return i + 2;
        }
    }

    private static int TranslateGroupOpen(string p, int i, StringBuilder sb, List<string?> groups)
    {
        if (i + 1 >= p.Length || p[i + 1] != '?')
        {
            groups.Add(null);
            sb.Append('(');
            return i + 1;
        }

        var rest = p.AsSpan(i + 2);
        if (rest.StartsWith("P<", StringComparison.Ordinal) || (rest.StartsWith("<", StringComparison.Ordinal)
            && !rest.StartsWith("<=", StringComparison.Ordinal) && !rest.StartsWith("<!", StringComparison.Ordinal)))
        {
            var nameStart = i + 2 + (rest[0] == 'P' ? 2 : 1);
            var nameEnd = p.IndexOf('>', nameStart);
            if (nameEnd < 0)
            {
                throw new FormatException($"unterminated group name at offset {i}");
            }

            var name = p.Substring(nameStart, nameEnd - nameStart);
            groups.Add(name);
            sb.Append("(?<").Append(name).Append('>');
            return nameEnd + 1;
        }

        if (rest.StartsWith("P=", StringComparison.Ordinal))
        {
            throw new FormatException($"named backreferences are not supported (offset {i})");
        }

        // Inline flags "(?i)", "(?i-s:" … : Go knows i, m, s and U.
        var k = 0;
        while (k < rest.Length && (rest[k] is 'i' or 'm' or 's' or 'U' or '-'))
        {
            k++;
        }

        if (k > 0 && k < rest.Length && rest[k] is ')' or ':' && rest[..k].Contains('U'))
        {
            throw new FormatException($"the ungreedy flag (?U) has no .NET equivalent (offset {i})");
        }

        sb.Append("(?");
        return i + 2;
    }

    private static bool IsOpenEndedRepeat(string p, int i)
    {
        // "{n,}" is unbounded; "{n}" and "{n,m}" are not; anything else is a literal brace in Go.
        var j = i + 1;
        var digits = 0;
        while (j < p.Length && char.IsAsciiDigit(p[j]))
        {
            j++;
            digits++;
        }

        return digits > 0 && j + 1 < p.Length && p[j] == ',' && p[j + 1] == '}';
    }

    private static void AppendPosixClass(string name, StringBuilder sb)
    {
        var negate = name.StartsWith('^');
        var bare = negate ? name[1..] : name;
        (char Lo, char Hi)[] ranges = bare switch
        {
            "alnum" => [('0', '9'), ('A', 'Z'), ('a', 'z')],
            "alpha" => [('A', 'Z'), ('a', 'z')],
            "ascii" => [('\0', '\x7F')],
            "blank" => [('\t', '\t'), (' ', ' ')],
            "cntrl" => [('\0', '\x1F'), ('\x7F', '\x7F')],
            "digit" => s_digit,
            "graph" => [('!', '~')],
            "lower" => [('a', 'z')],
            "print" => [(' ', '~')],
            "punct" => [('!', '/'), (':', '@'), ('[', '`'), ('{', '~')],
            "space" => [('\t', '\r'), (' ', ' ')],
            "upper" => [('A', 'Z')],
            "word" => s_word,
            "xdigit" => [('0', '9'), ('A', 'F'), ('a', 'f')],
            _ => throw new FormatException($"unknown POSIX class [:{name}:]"),
        };

        AppendRanges(ranges, negate, inClass: true, sb);
    }

    private static void AppendRanges((char Lo, char Hi)[] ranges, bool negate, bool inClass, StringBuilder sb)
    {
        IReadOnlyList<(char Lo, char Hi)> effective = negate ? Complement(ranges) : ranges;
        if (!inClass)
        {
            sb.Append('[');
        }

        foreach (var (lo, hi) in effective)
        {
            AppendLiteral(lo, sb);
            if (hi != lo)
            {
                sb.Append('-');
                AppendLiteral(hi, sb);
            }
        }

        if (!inClass)
        {
            sb.Append(']');
        }
    }

    private static List<(char Lo, char Hi)> Complement((char Lo, char Hi)[] ranges)
    {
        var result = new List<(char Lo, char Hi)>();
        var next = 0;
        foreach (var (lo, hi) in ranges)
        {
            if (lo > next)
            {
                result.Add(((char)next, (char)(lo - 1)));
            }

            next = hi + 1;
        }

        if (next <= char.MaxValue)
        {
            result.Add(((char)next, char.MaxValue));
        }

        return result;
    }

    private static void AppendLiteral(char ch, StringBuilder sb)
    {
        if (char.IsAsciiLetterOrDigit(ch))
        {
            sb.Append(ch);
        }
        else
        {
            sb.Append("\\u").Append(((int)ch).ToString("X4", CultureInfo.InvariantCulture));
        }
    }
}

/// <summary>A translated pattern plus the Go capture groups in Go's numbering order (name or null).</summary>
internal sealed record GoRegexTranslation(string Pattern, IReadOnlyList<string?> GoGroups, bool HasUnboundedRepeat);
