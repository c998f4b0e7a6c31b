using System.Text;
using System.Text.RegularExpressions;

namespace Airlock.Inspection.Files;

/// <summary>Outcome of matching one path against gitignore patterns.</summary>
public enum GitignoreVerdict
{
    /// <summary>No pattern matched.</summary>
    None,

    /// <summary>The last matching pattern excludes the path.</summary>
    Ignored,

    /// <summary>The last matching pattern is a negation (<c>!pattern</c>) that re-includes it.</summary>
    Included,
}

/// <summary>
/// The patterns of one <c>.gitignore</c> file, matched against paths relative to that file's
/// directory (forward slashes). Covers the common syntax of gitignore(5): comments, <c>\</c>
/// escapes, <c>!</c> negation, trailing <c>/</c> for directories only, patterns containing a
/// <c>/</c> anchored to the file's directory, <c>*</c>, <c>?</c>, <c>[…]</c> classes and
/// <c>**</c> as a leading, trailing or middle path segment. The last matching pattern wins.
/// </summary>
public sealed class GitignoreRules
{
    private static readonly TimeSpan MatchTimeout = TimeSpan.FromMilliseconds(200);
    private readonly List<Pattern> _patterns;

    private GitignoreRules(List<Pattern> patterns)
    {
        _patterns = patterns;
    }

    /// <summary>Number of patterns parsed.</summary>
    public int Count => _patterns.Count;

    /// <summary>Parses the text of a <c>.gitignore</c> file.</summary>
    public static GitignoreRules Parse(string content)
    {
        ArgumentNullException.ThrowIfNull(content);
        var patterns = new List<Pattern>();
        foreach (var rawLine in content.Split('\n'))
        {
            var pattern = ParseLine(rawLine.TrimEnd('\r'));
            if (pattern is not null)
            {
                patterns.Add(pattern);
            }
        }

        return new GitignoreRules(patterns);
    }

    /// <summary>Matches <paramref name="relativePath"/> (relative to this file's directory, <c>/</c>-separated).</summary>
    public GitignoreVerdict Match(string relativePath, bool isDirectory)
    {
        for (int i = _patterns.Count - 1; i >= 0; i--)
        {
            var pattern = _patterns[i];
            if (pattern.DirectoryOnly && !isDirectory)
            {
                continue;
            }

            if (pattern.IsMatch(relativePath))
            {
                return pattern.Negated ? GitignoreVerdict.Included : GitignoreVerdict.Ignored;
            }
        }

        return GitignoreVerdict.None;
    }

    private static Pattern? ParseLine(string line)
    {
        // Trailing spaces are ignored unless escaped with a backslash.
        int end = line.Length;
        while (end > 0 && line[end - 1] == ' ' && !(end > 1 && line[end - 2] == '\\'))
        {
            end--;
        }

        line = line[..end];
        if (line.Length == 0 || line[0] == '#')
        {
            return null;
        }

        bool negated = false;
        if (line[0] == '!')
        {
            negated = true;
            line = line[1..];
        }
        else if (line.StartsWith("\\!", StringComparison.Ordinal) || line.StartsWith("\\#", StringComparison.Ordinal))
        {
            line = line[1..];
        }

        bool directoryOnly = false;
        if (line.EndsWith('/'))
        {
            directoryOnly = true;
            line = line.TrimEnd('/');
        }

        if (line.Length == 0)
        {
            return null;
        }

        bool anchored = line.Contains('/', StringComparison.Ordinal);
        if (line[0] == '/')
        {
            line = line[1..];
        }

        string body = ToRegex(line);
        string regex = anchored ? "^" + body + "$" : "^(?:.*/)?" + body + "$";
        return new Pattern(line, new Regex(regex, RegexOptions.CultureInvariant, MatchTimeout), negated, directoryOnly);
    }

    private static string ToRegex(string glob)
    {
        var sb = new StringBuilder();
        int i = 0;
        while (i < glob.Length)
        {
            char c = glob[i];
            bool atSegmentStart = i == 0 || glob[i - 1] == '/';
            if (c == '*' && atSegmentStart && i + 1 < glob.Length && glob[i + 1] == '*'
                && (i + 2 == glob.Length || glob[i + 2] == '/'))
            {
                if (i + 2 == glob.Length)
                {
                    sb.Append(".*");
                    i += 2;
                }
                else
                {
                    sb.Append("(?:.*/)?");
                    i += 3;
                }

                continue;
            }

            switch (c)
            {
                case '*':
                    sb.Append("[^/]*");
                    break;
                case '?':
                    sb.Append("[^/]");
                    break;
                case '[':
                    int close = ClassEnd(glob, i);
                    if (close < 0)
                    {
                        sb.Append(@"\[");
                        break;
                    }

                    sb.Append('[');
                    int j = i + 1;
                    if (glob[j] is '!' or '^')
                    {
                        sb.Append('^');
                        j++;
                    }

                    for (; j < close; j++)
                    {
                        char k = glob[j];
                        sb.Append(k == '-' ? "-" : Regex.Escape(k.ToString()));
                    }

                    sb.Append(']');
                    i = close;
                    break;
                case '\\':
                    if (i + 1 < glob.Length)
                    {
                        i++;
                        sb.Append(Regex.Escape(glob[i].ToString()));
                    }

                    break;
                default:
                    sb.Append(Regex.Escape(c.ToString()));
                    break;
            }

            i++;
        }

        return sb.ToString();
    }

    // Index of the ']' closing a class opened at `open`, or -1. A ']' right after '[' or '[!' is literal.
    private static int ClassEnd(string glob, int open)
    {
        int j = open + 1;
        if (j < glob.Length && glob[j] is '!' or '^')
        {
            j++;
        }

        if (j < glob.Length && glob[j] == ']')
        {
            j++;
        }

        for (; j < glob.Length; j++)
        {
            if (glob[j] == ']')
            {
                return j;
            }
        }

        return -1;
    }

    /// <summary>
    /// One pattern. Globs become backtracking regexes (built in microseconds) with a match timeout; a glob with many
    /// wildcards (<c>*a*a*a*…</c>) can backtrack past it on a long name, and then the pattern switches for good to
    /// the linear-time engine, which gives the same verdict in bounded time. Only if that engine cannot be built
    /// does matching fail, with a <see cref="GitignorePatternException"/> naming the pattern.
    /// </summary>
    private sealed class Pattern(string glob, Regex regex, bool negated, bool directoryOnly)
    {
        private volatile Regex _regex = regex;

        public bool Negated => negated;

        public bool DirectoryOnly => directoryOnly;

        public bool IsMatch(string path)
        {
            try
            {
                return _regex.IsMatch(path);
            }
            catch (RegexMatchTimeoutException)
            {
                _regex = Linear();
                return _regex.IsMatch(path);
            }
        }

        private Regex Linear()
        {
            try
            {
                return RuleRegexFactory.CreateLinear(_regex.ToString());
            }
            catch (Exception e) when (e is NotSupportedException or ArgumentException)
            {
                throw GitignorePatternException.TooComplex(glob, e);
            }
        }
    }
}

/// <summary>A <c>.gitignore</c> pattern that can be matched neither within the time limit nor by the linear-time
/// engine. The message names the pattern (a path glob, never file content).</summary>
public sealed class GitignorePatternException : Exception
{
    public GitignorePatternException()
    {
    }

    public GitignorePatternException(string message)
        : base(message)
    {
    }

    public GitignorePatternException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    internal static GitignorePatternException TooComplex(string glob, Exception innerException) =>
        new($".gitignore pattern '{glob}' is too complex to match in bounded time: {innerException.Message}", innerException);
}
