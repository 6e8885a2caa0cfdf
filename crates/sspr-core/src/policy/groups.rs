//! Transitive group membership. Groups may contain groups, and an administrator can build a
//! cycle (A in B, B in A) by accident; membership must still terminate and be correct.

use std::collections::{HashMap, HashSet, VecDeque};

use crate::GroupId;

/// Is a principal whose direct groups are `direct` a member of `target`, directly or through
/// any chain of nested groups? `parents` maps a group to the groups that contain it.
pub fn is_transitive_member(
    direct: &[GroupId],
    parents: &HashMap<GroupId, Vec<GroupId>>,
    target: GroupId,
) -> bool {
    let mut seen: HashSet<GroupId> = HashSet::new();
    let mut queue: VecDeque<GroupId> = direct.iter().copied().collect();
    while let Some(group) = queue.pop_front() {
        if group == target {
            return true;
        }
        if !seen.insert(group) {
            continue;
        }
        if let Some(ps) = parents.get(&group) {
            queue.extend(ps.iter().copied().filter(|p| !seen.contains(p)));
        }
    }
    false
}

/// Every group a principal belongs to, directly or transitively (cycles tolerated).
pub fn transitive_groups(
    direct: &[GroupId],
    parents: &HashMap<GroupId, Vec<GroupId>>,
) -> HashSet<GroupId> {
    let mut seen: HashSet<GroupId> = HashSet::new();
    let mut queue: VecDeque<GroupId> = direct.iter().copied().collect();
    while let Some(group) = queue.pop_front() {
        if seen.insert(group)
            && let Some(ps) = parents.get(&group)
        {
            queue.extend(ps.iter().copied());
        }
    }
    seen
}

#[cfg(test)]
// The reference closure below is Floyd–Warshall, which reads best with index loops.
#[allow(clippy::needless_range_loop)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use uuid::Uuid;

    fn g(n: u128) -> GroupId {
        GroupId(Uuid::from_u128(n))
    }

    #[test]
    fn direct_nested_and_unrelated() {
        // 1 ⊂ 2 ⊂ 3; 4 alone.
        let parents = HashMap::from([(g(1), vec![g(2)]), (g(2), vec![g(3)])]);
        assert!(is_transitive_member(&[g(1)], &parents, g(1)));
        assert!(is_transitive_member(&[g(1)], &parents, g(3)));
        assert!(!is_transitive_member(&[g(3)], &parents, g(1)));
        assert!(!is_transitive_member(&[g(4)], &parents, g(3)));
        assert!(!is_transitive_member(&[], &parents, g(3)));
    }

    #[test]
    fn cycles_terminate() {
        let parents = HashMap::from([
            (g(1), vec![g(2)]),
            (g(2), vec![g(1), g(3)]),
            (g(3), vec![g(1)]),
        ]);
        assert!(is_transitive_member(&[g(1)], &parents, g(3)));
        assert!(!is_transitive_member(&[g(1)], &parents, g(9)));
        assert_eq!(transitive_groups(&[g(2)], &parents).len(), 3);
    }

    proptest! {
        /// Membership agrees with reachability computed the slow way (Floyd–Warshall style
        /// closure), for arbitrary graphs with cycles.
        #[test]
        fn agrees_with_closure(edges in proptest::collection::vec((0u128..8, 0u128..8), 0..24),
                               start in 0u128..8, target in 0u128..8) {
            let mut parents: HashMap<GroupId, Vec<GroupId>> = HashMap::new();
            let mut reach = [[false; 8]; 8];
            for (child, parent) in &edges {
                parents.entry(g(*child)).or_default().push(g(*parent));
                reach[*child as usize][*parent as usize] = true;
            }
            for i in 0..8 { reach[i][i] = true; }
            for k in 0..8 { for i in 0..8 { for j in 0..8 {
                if reach[i][k] && reach[k][j] { reach[i][j] = true; }
            }}}
            prop_assert_eq!(
                is_transitive_member(&[g(start)], &parents, g(target)),
                reach[start as usize][target as usize]
            );
        }
    }
}
